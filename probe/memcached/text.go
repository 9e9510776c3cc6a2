package memcached

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gownscan/gown"
)

// Caps on a text reply. A real `stats` reply is about 100 lines of under 60
// bytes and `stats settings` about 90; the caps leave room for builds with
// extstore or proxy counters while bounding what a hostile peer can make
// gown hold: maxStats lines of at most maxLine bytes.
const (
	maxLine  = 1024
	maxStats = 500
)

// errNotText marks a reply that is not memcached's text protocol; head keeps
// its first bytes so the verdict can say what answered instead.
type errNotText struct{ head []byte }

func (e *errNotText) Error() string { return fmt.Sprintf("reply %q is not memcached text", e.head) }

// Is lets callers test for gown.ErrNotService.
func (e *errNotText) Is(target error) bool { return target == gown.ErrNotService }

// refusal is a one-line error the server sent instead of stats: ERROR,
// CLIENT_ERROR msg or SERVER_ERROR msg (protocol.txt, "Error strings").
type refusal struct {
	kind string // "ERROR", "CLIENT_ERROR" or "SERVER_ERROR"
	msg  string
}

func (r *refusal) Error() string {
	if r.msg == "" {
		return r.kind
	}
	return r.kind + " " + r.msg
}

// stat is one "STAT name value" line.
type stat struct{ name, value string }

// stats is a parsed stats reply, in the server's order.
type stats []stat

// get returns the value of the named stat, or "" when absent.
func (s stats) get(name string) string {
	for _, st := range s {
		if st.name == name {
			return st.value
		}
	}
	return ""
}

// newReader sizes the buffer to the line cap, so that ReadSlice itself
// enforces it and a line without an end never grows a buffer.
func newReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, maxLine) }

// readLine returns one CRLF- (or LF-) terminated line without its end. The
// slice is valid until the next read.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return line, fmt.Errorf("line longer than %d bytes: %w", maxLine, gown.ErrReplyTooLarge)
	case err != nil:
		if errors.Is(err, io.EOF) && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return line, err
	}
	line = line[:len(line)-1]
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

// readStats reads the reply to `stats` or `stats settings`: STAT lines up to
// END. A first line that is a memcached error comes back as *refusal; a
// reply that is not memcached text as *errNotText (which is ErrNotService).
func readStats(br *bufio.Reader) (stats, error) {
	var out stats
	for {
		line, err := readLine(br)
		if err != nil {
			if len(out) == 0 && len(line) > 0 && !looksText(line) {
				return nil, &errNotText{head: head(line)}
			}
			return nil, err
		}
		if bytes.Equal(line, []byte("END")) {
			return out, nil
		}
		if st, ok := parseStat(line); ok {
			if len(out) == maxStats {
				return nil, fmt.Errorf("more than %d STAT lines: %w", maxStats, gown.ErrReplyTooLarge)
			}
			out = append(out, st)
			continue
		}
		if len(out) == 0 {
			if r := parseRefusal(line); r != nil {
				return nil, r
			}
			return nil, &errNotText{head: head(line)}
		}
		return nil, fmt.Errorf("line %q inside STAT lines: %w", head(line), gown.ErrProtocol)
	}
}

// parseStat splits "STAT name value"; the value may hold spaces (libevent
// versions, paths) and may be empty.
func parseStat(line []byte) (stat, bool) {
	rest, ok := bytes.CutPrefix(line, []byte("STAT "))
	if !ok {
		return stat{}, false
	}
	name, value, _ := bytes.Cut(rest, []byte(" "))
	if len(name) == 0 || !printable(name) || !printable(value) {
		return stat{}, false
	}
	return stat{name: string(name), value: string(value)}, true
}

// parseRefusal recognises the three error replies of protocol.txt.
func parseRefusal(line []byte) *refusal {
	s := string(line)
	if s == "ERROR" {
		return &refusal{kind: "ERROR"}
	}
	for _, kind := range []string{"CLIENT_ERROR", "SERVER_ERROR"} {
		if msg, ok := strings.CutPrefix(s, kind); ok && (msg == "" || msg[0] == ' ') && printable(line) {
			return &refusal{kind: kind, msg: strings.TrimPrefix(msg, " ")}
		}
	}
	return nil
}

// looksText reports whether a cut-off first line could still be the start
// of a memcached reply, so that a short read is "could not tell" rather than
// "not memcached".
func looksText(b []byte) bool {
	for _, p := range []string{"STAT ", "END", "ERROR", "CLIENT_ERROR", "SERVER_ERROR"} {
		n := min(len(b), len(p))
		if string(b[:n]) == p[:n] {
			return true
		}
	}
	return false
}

// printable reports whether b is plain ASCII text without control bytes.
func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// head copies the first bytes of a reply, for error messages and verdicts.
func head(b []byte) []byte { return bytes.Clone(b[:min(len(b), 32)]) }
