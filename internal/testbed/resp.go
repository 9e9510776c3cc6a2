package testbed

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// respConn is the test bed's own minimal RESP client: enough to plant keys
// and run MONITOR, without a dependency or a redis-cli process per command.
type respConn struct {
	c net.Conn
	r *bufio.Reader
}

func newReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(c, 64<<10) }

// dialRESP connects; ctx bounds the dial only.
func dialRESP(ctx context.Context, network, addr string) (*respConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("redis dial %s: %w", addr, err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return &respConn{c: c, r: newReader(c)}, nil
}

func (rc *respConn) Close() error { return rc.c.Close() }

// encode writes one command as a RESP array of bulk strings.
func encode(w *bufio.Writer, args []string) {
	fmt.Fprintf(w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(w, "$%d\r\n%s\r\n", len(a), a)
	}
}

// do sends one command and returns its reply flattened to a string; a RESP
// error reply becomes a Go error.
func (rc *respConn) do(args ...string) (string, error) {
	w := bufio.NewWriter(rc.c)
	encode(w, args)
	if err := w.Flush(); err != nil {
		return "", err
	}
	return rc.reply()
}

// pipeline sends all commands before reading any reply, which keeps
// planting a few hundred keys to one round trip.
func (rc *respConn) pipeline(cmds [][]string) error {
	w := bufio.NewWriter(rc.c)
	for _, a := range cmds {
		encode(w, a)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for range cmds {
		if _, err := rc.reply(); err != nil {
			return err
		}
	}
	return nil
}

// line reads one CRLF-terminated line without its terminator.
func (rc *respConn) line() (string, error) {
	l, err := rc.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(l, "\n"), "\r"), nil
}

// reply reads one RESP2 reply; arrays are joined with newlines, which is all
// the test bed needs of them.
func (rc *respConn) reply() (string, error) {
	l, err := rc.line()
	if err != nil {
		return "", err
	}
	if l == "" {
		return "", errors.New("redis: empty reply line")
	}
	switch l[0] {
	case '+', ':':
		return l[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", l[1:])
	case '$':
		n, err := strconv.Atoi(l[1:])
		if err != nil || n < 0 {
			return "", err
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(rc.r, b); err != nil {
			return "", err
		}
		return string(b[:n]), nil
	case '*':
		n, err := strconv.Atoi(l[1:])
		if err != nil {
			return "", err
		}
		parts := make([]string, 0, max(n, 0))
		for range n {
			p, err := rc.reply()
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("redis: unexpected reply %.40q", l)
}

// Monitor records what a Redis server executes, through MONITOR.
//
// Redis feeds MONITOR only commands it runs: one refused before running
// (NOAUTH, NOPERM, a protected-mode DENIED connection) is not seen.
type Monitor struct {
	mon, ctl *respConn
	marker   string
	mu       sync.Mutex
	entries  []MonitorEntry
	done     chan struct{}
	stopOnce sync.Once
}

// MonitorEntry is one command seen by MONITOR.
type MonitorEntry struct {
	DB     int      // selected database
	Client string   // "127.0.0.2:50312", "unix:/path", "lua"
	Args   []string // command and arguments, unquoted
}

// String returns the command as one line, arguments separated by spaces.
func (e MonitorEntry) String() string { return strings.Join(e.Args, " ") }

// Monitor starts recording every command the server executes until Stop or
// until ctx ends.
func (s *Server) Monitor(ctx context.Context) (*Monitor, error) {
	if s.Kind != "redis" {
		return nil, fmt.Errorf("testbed: MONITOR needs redis, %s is %s", s.Name, s.Kind)
	}
	mon, err := s.adminConn(ctx)
	if err != nil {
		return nil, err
	}
	ctl, err := s.adminConn(ctx)
	if err != nil {
		mon.Close()
		return nil, err
	}
	if _, err := mon.do("MONITOR"); err != nil {
		mon.Close()
		ctl.Close()
		return nil, fmt.Errorf("redis MONITOR on %s: %w", s.Name, err)
	}
	// Recording lasts until Stop, not the setup deadline.
	mon.c.SetDeadline(time.Time{})
	m := &Monitor{mon: mon, ctl: ctl, marker: "gown-testbed-monitor-end-" + secret(), done: make(chan struct{})}
	stopHook := context.AfterFunc(ctx, func() { mon.c.Close() })
	go func() {
		defer close(m.done)
		defer stopHook()
		m.read()
	}()
	return m, nil
}

// read collects monitor lines until the end marker or a closed connection.
func (m *Monitor) read() {
	for {
		l, err := m.mon.line()
		if err != nil {
			return
		}
		e, ok := parseMonitorLine(l)
		if !ok {
			continue
		}
		if len(e.Args) == 2 && e.Args[1] == m.marker {
			return
		}
		m.mu.Lock()
		m.entries = append(m.entries, e)
		m.mu.Unlock()
	}
}

// Entries stops recording and returns every command seen, in order.
// Commands sent before Stop are all included: Stop sends a marker command on
// another connection and waits until MONITOR has shown it, and Redis feeds
// MONITOR in execution order.
func (m *Monitor) Entries() []MonitorEntry {
	m.stopOnce.Do(func() {
		m.ctl.c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := m.ctl.do("ECHO", m.marker); err == nil {
			select {
			case <-m.done:
			case <-time.After(5 * time.Second):
			}
		}
		m.mon.Close()
		m.ctl.Close()
		<-m.done
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.entries)
}

// Stop stops recording and returns the commands seen as lines, e.g. "INFO"
// or "GET user:1".
func (m *Monitor) Stop() []string {
	var out []string
	for _, e := range m.Entries() {
		out = append(out, e.String())
	}
	return out
}

// parseMonitorLine reads `+1700000000.123456 [0 127.0.0.2:5000] "GET" "k"`.
func parseMonitorLine(l string) (MonitorEntry, bool) {
	l = strings.TrimPrefix(l, "+")
	open, end := strings.IndexByte(l, '['), strings.IndexByte(l, ']')
	if open < 0 || end < open {
		return MonitorEntry{}, false
	}
	db, client, _ := strings.Cut(l[open+1:end], " ")
	var e MonitorEntry
	e.DB, _ = strconv.Atoi(db)
	e.Client = client
	args, ok := unquoteArgs(l[end+1:])
	e.Args = args
	return e, ok && len(args) > 0
}

// unquoteArgs splits MONITOR's quoted arguments, undoing sdscatrepr's
// escapes (\" \\ \n \r \t \a \b \xHH).
func unquoteArgs(s string) ([]string, bool) {
	var args []string
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return args, true
		}
		if s[0] != '"' {
			return args, false
		}
		var b strings.Builder
		i := 1
		for ; i < len(s) && s[i] != '"'; i++ {
			if s[i] != '\\' || i+1 >= len(s) {
				b.WriteByte(s[i])
				continue
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'x':
				if i+2 < len(s) {
					if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
						b.WriteByte(byte(v))
						i += 2
						continue
					}
				}
				b.WriteByte('x')
			default:
				b.WriteByte(s[i])
			}
		}
		if i >= len(s) {
			return args, false
		}
		args = append(args, b.String())
		s = s[i+1:]
	}
}
