package testbed

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gownscan/gown/internal/lazyre"
)

// LogEntry is one line of MariaDB's general log: a command the server
// received.
type LogEntry struct {
	ID       uint32 // connection (thread) id
	Command  string // "Connect", "Query", "Quit", "Init DB", ...
	Argument string // the statement, or for Connect "root@127.0.0.2 on  using TCP/IP"
	// Setup marks the test bed's own sessions (planting over the socket,
	// the startup check), so a test can look at the scan's alone.
	Setup bool
}

// logLine matches an entry; the timestamp is written only on the first
// entry of each second.
var logLine = lazyre.New(`^(?:\d{6} [ \d]\d:\d\d:\d\d)?\t+ *(\d+) ([A-Z][A-Za-z_ ]*)\t(.*)$`)

// logHeader matches the three lines the server writes when it opens the log.
var logHeader = lazyre.New(`^(\S*mariadbd|\S*mysqld)?, Version: |^Tcp port: \d+|^Time\s+Id Command\s+Argument$`)

// GeneralLog returns every command the server has logged since it started,
// in order, including the test bed's own (marked Setup).
func (s *Server) GeneralLog() ([]LogEntry, error) {
	if s.LogPath == "" {
		return nil, fmt.Errorf("testbed: %s keeps no general log", s.Name)
	}
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return nil, fmt.Errorf("testbed: general log of %s: %w", s.Name, err)
	}
	entries := parseGeneralLog(string(b))
	socket := map[uint32]bool{}
	for i, e := range entries {
		if e.Command == "Connect" && strings.HasSuffix(e.Argument, "using Socket") {
			socket[e.ID] = true
		}
		entries[i].Setup = socket[e.ID] || s.isSetup(e.ID)
	}
	return entries, nil
}

// ScanLog returns the general-log entries of sessions the test bed did not
// open: what scans sent.
func (s *Server) ScanLog() ([]LogEntry, error) {
	all, err := s.GeneralLog()
	if err != nil {
		return nil, err
	}
	var out []LogEntry
	for _, e := range all {
		if !e.Setup {
			out = append(out, e)
		}
	}
	return out, nil
}

// parseGeneralLog splits the file into entries. A line that is neither an
// entry nor a header continues the previous entry's argument: a statement
// with newlines is logged as is.
func parseGeneralLog(text string) []LogEntry {
	var out []LogEntry
	for line := range strings.Lines(text) {
		line = strings.TrimRight(line, "\r\n")
		if m := logLine.FindStringSubmatch(line); m != nil {
			id, _ := strconv.ParseUint(m[1], 10, 32)
			out = append(out, LogEntry{ID: uint32(id), Command: strings.TrimSpace(m[2]), Argument: m[3]})
			continue
		}
		if logHeader.MatchString(line) || len(out) == 0 {
			continue
		}
		out[len(out)-1].Argument += "\n" + line
	}
	return out
}
