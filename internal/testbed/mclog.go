package testbed

import (
	"fmt"
	"iter"
	"os"
	"strings"

	"github.com/gownscan/gown/internal/lazyre"
)

// MemcachedCommand is one request a memcached server logged with -vv.
type MemcachedCommand struct {
	// Conn numbers the connection that sent it, in log order: the log names
	// connections by file descriptor, which memcached reuses.
	Conn int
	// Text is the command line as received ("stats settings"; for a
	// storage command its line without the data), or for a binary request
	// "binary 0x10" (its opcode), or "binary, bad magic: 0x73 0x74 0x61 0x74"
	// when the first bytes were not a binary header.
	Text string
	// Setup marks the test bed's own connections (planting, the startup
	// check).
	Setup bool
}

// mcPrefix starts a -vv message about a client connection: "<24 stats".
// Worker threads write without a lock, so one line can hold the start of
// two messages: a prefix left dangling ("<23 <24 connection closed."), or a
// header dump cut short by another thread ("<23 0x73 0x74<24 connection
// closed."). Each message runs from its prefix to the next one; the rest of
// a cut message is lost to the log, not misread.
var mcPrefix = lazyre.New(`<(\d+) `)

// mcNewConn opens a connection: "new ascii client connection.", "new
// auto-negotiating client connection".
var mcNewConn = lazyre.New(`^new .*client connection\.?$`)

// mcHex is a line of a binary header dump: "0x80 0x10 0x00 0x00".
var mcHex = lazyre.New(`^0x[0-9a-f]{2}( 0x[0-9a-f]{2})*$`)

// MemcachedLog returns every request the server logged since it started, in
// order, including the test bed's own (marked Setup). memcached logs no
// command it refuses for want of authentication (-Y), only the refusal.
// Read it after the client saw its answers: memcached logs a request as it
// parses it, before answering.
func (s *Server) MemcachedLog() ([]MemcachedCommand, error) {
	if s.Kind != "memcached" || s.LogPath == "" {
		return nil, fmt.Errorf("testbed: %s keeps no memcached log", s.Name)
	}
	b, err := os.ReadFile(s.LogPath)
	if err != nil {
		return nil, fmt.Errorf("testbed: log of %s: %w", s.Name, err)
	}
	return parseMemcachedLog(string(b)), nil
}

// MemcachedCommands returns the requests of connections the test bed did
// not open: what scans sent.
func (s *Server) MemcachedCommands() ([]MemcachedCommand, error) {
	all, err := s.MemcachedLog()
	if err != nil {
		return nil, err
	}
	var out []MemcachedCommand
	for _, c := range all {
		if !c.Setup {
			out = append(out, c)
		}
	}
	return out, nil
}

// mcConnState follows one open connection through the log.
type mcConnState struct {
	conn    int
	hexLine int // header lines seen of the binary request being dumped; 0 when none
	lastBin string
}

// parseMemcachedLog turns the -vv log into requests and marks the
// connections that carry the test bed's setup key or opaque.
func parseMemcachedLog(text string) []MemcachedCommand {
	var out []MemcachedCommand
	open := map[string]*mcConnState{}
	setup := map[int]bool{}
	next := 0
	opaque := hexOf(mcSetupOpaque)
	for fd, msg := range mcMessages(text) {
		if msg == "" || strings.HasPrefix(msg, "server listening") {
			continue
		}
		st, isNew := open[fd], mcNewConn.MatchString(msg)
		if st == nil || isNew {
			next++
			st = &mcConnState{conn: next}
			open[fd] = st
		}
		add := func(text string) { out = append(out, MemcachedCommand{Conn: st.conn, Text: text}) }
		switch {
		case isNew:
		case msg == "connection closed.":
			delete(open, fd)
		case msg == "Read binary protocol data:":
			st.hexLine = 1
		case st.hexLine > 0 && mcHex.MatchString(msg):
			// Header lines: 1 holds magic and opcode, 4 the opaque.
			f := strings.Fields(msg)
			switch {
			case st.hexLine == 1 && f[0] == "0x80" && len(f) > 1:
				st.lastBin = f[1]
				add("binary " + f[1])
			case st.hexLine == 1:
				st.lastBin = ""
				add("binary, bad magic: " + msg)
			case st.hexLine == 4 && msg == opaque:
				setup[st.conn] = true
			}
			st.hexLine = (st.hexLine + 1) % 7
		case mcHex.MatchString(msg):
		case msg == "STATS" && st.lastBin == "0x10":
			// memcached echoes a binary stat it serves this way.
		default:
			st.hexLine = 0
			if strings.Contains(msg, mcSetupKey) {
				setup[st.conn] = true
			}
			add(msg)
		}
	}
	for i := range out {
		out[i].Setup = setup[out[i].Conn]
	}
	return out
}

// mcMessages yields each client message in the log with the descriptor
// its prefix names, the message trimmed.
func mcMessages(text string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for line := range strings.Lines(text) {
			line = strings.TrimRight(line, "\r\n")
			ms := mcPrefix.Regexp().FindAllStringSubmatchIndex(line, -1)
			for i, m := range ms {
				end := len(line)
				if i+1 < len(ms) {
					end = ms[i+1][0]
				}
				if !yield(line[m[2]:m[3]], strings.TrimSpace(line[m[1]:end])) {
					return
				}
			}
		}
	}
}

// hexOf renders bytes the way -vv dumps a header line.
func hexOf(s string) string {
	f := make([]string, len(s))
	for i := range len(s) {
		f[i] = fmt.Sprintf("0x%02x", s[i])
	}
	return strings.Join(f, " ")
}
