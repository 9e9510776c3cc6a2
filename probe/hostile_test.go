package probe_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/memcached"
	"github.com/gownscan/gown/probe/mysql"
	"github.com/gownscan/gown/probe/postgres"
	"github.com/gownscan/gown/probe/redis"
)

// A hostile server is a loopback listener that misbehaves in one way. Each
// returns how many bytes it wrote, so the test can show gown stopped reading.
type hostile struct {
	name   string
	prefix map[string][]byte // per prober: bytes that look like the protocol
	serve  func(c net.Conn, prefix []byte, written *atomic.Int64)
	status gown.Status
	reason string // a substring of Result.Reason
}

func endless(c net.Conn, prefix []byte, written *atomic.Int64) {
	n, _ := c.Write(prefix)
	written.Add(int64(n))
	chunk := bytes.Repeat([]byte("a"), 16<<10)
	if bytes.HasPrefix(prefix, []byte("NR")) {
		// PostgreSQL: well-formed ParameterStatus messages without end, so
		// the stream stays inside the protocol and only the caps stop it.
		chunk = bytes.Repeat([]byte("S\x00\x00\x00\x08a\x00b\x00"), 2048)
	}
	for {
		n, err := c.Write(chunk)
		written.Add(int64(n))
		if err != nil {
			return
		}
	}
}

func silence(c net.Conn, _ []byte, _ *atomic.Int64) {
	io.Copy(io.Discard, c) // reads whatever comes, never says a word
}

func once(c net.Conn, prefix []byte, written *atomic.Int64) {
	n, _ := c.Write(prefix)
	written.Add(int64(n))
	io.Copy(io.Discard, c)
}

func garbage(c net.Conn, _ []byte, written *atomic.Int64) {
	// 0x07 is no RESP type byte; as a MySQL header it announces a 7-byte
	// packet whose protocol byte is '<', not 10: neither store's shape.
	b := append([]byte("\x07\x00\x00\x00<html>"), make([]byte, 500)...)
	rand.Read(b[11:])
	n, _ := c.Write(b)
	written.Add(int64(n))
	io.Copy(io.Discard, c)
}

func resetMidReply(c net.Conn, prefix []byte, written *atomic.Int64) {
	n, _ := c.Write(prefix)
	written.Add(int64(n))
	time.Sleep(50 * time.Millisecond)
	c.(*net.TCPConn).SetLinger(0) // close with RST, not FIN
	c.Close()
}

// mariadbGreeting is a whole greeting captured from MariaDB 10.11.19.
var mariadbGreeting = []byte("\x64\x00\x00\x00\x0a\x35\x2e\x35\x2e\x35\x2d\x31\x30\x2e\x31\x31\x2e\x31\x39\x2d\x4d\x61\x72\x69\x61\x44\x42\x2d\x30\x2b\x64\x65\x62\x31\x32\x75\x31\x00\x03\x00\x00\x00\x2c\x27\x7c\x5d\x3f\x61\x4c\x39\x00\xfe\xf7\x08\x02\x00\xff\x81\x15\x00\x00\x00\x00\x00\x00\x1d\x00\x00\x00\x78\x70\x48\x57\x5d\x4e\x4e\x7c\x46\x29\x39\x24\x00\x6d\x79\x73\x71\x6c\x5f\x6e\x61\x74\x69\x76\x65\x5f\x70\x61\x73\x73\x77\x6f\x72\x64\x00")

// mysqlGreetingHalf is its first 30 bytes.
var mysqlGreetingHalf = mariadbGreeting[:30]

// mysqlEndless is a real greeting, then a login reply announcing 65520 bytes
// (inside the per-packet cap) that the endless server never stops filling.
var mysqlEndless = append(append([]byte{}, mariadbGreeting...), "\xf0\xff\x00\x02"...)

var hostiles = []hostile{
	{name: "endless stream", serve: endless, status: gown.StatusUnknown, reason: "read cap",
		prefix: map[string][]byte{"redis": []byte("$100000\r\n"), "mysql": mysqlEndless,
			"postgres": []byte("NR\x00\x00\x00\x08\x00\x00\x00\x00"), "memcached": []byte("STAT pid 1\r\nSTAT ")}},
	{name: "silence", serve: silence, status: gown.StatusUnknown, reason: "deadline"},
	{name: "huge length prefix", serve: once, status: gown.StatusUnknown, reason: "read cap",
		prefix: map[string][]byte{"redis": []byte("$4294967295\r\n"), "mysql": append(append([]byte{}, mariadbGreeting...), "\xff\xff\xff\x02"...),
			"postgres": []byte("NR\x00\x00\x00\x08\x00\x00\x00\x00S\x7f\xff\xff\xff"), "memcached": []byte("STAT pid 1\r\nSTAT " + strings.Repeat("k", 4096))}},
	{name: "garbage", serve: garbage, status: gown.StatusNotService, reason: ""},
	{name: "reset mid-reply", serve: resetMidReply, status: gown.StatusUnknown, reason: "mid-exchange",
		prefix: map[string][]byte{"redis": []byte("$900\r\n# Server\r\nredis_version:7.0"), "mysql": mysqlGreetingHalf,
			"postgres": []byte("NR\x00\x00\x00\x0c\x00\x00"), "memcached": []byte("STAT pid 1\r\nSTAT upt")}},
}

func serveHostile(t *testing.T, h hostile, prefix []byte, written *atomic.Int64) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	conns := make(chan net.Conn, 16)
	t.Cleanup(func() {
		ln.Close()
		close(conns)
		for c := range conns {
			c.Close()
		}
		wg.Wait()
	})
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			select {
			case conns <- c:
			default:
			}
			wg.Add(1)
			go func() { defer wg.Done(); defer c.Close(); h.serve(c, prefix, written) }()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// TestHostileServers runs the real probers against servers that misbehave and
// checks that each scan returns within its deadline, reads no more than the
// cap, allocates a bounded amount, and says what happened.
func TestHostileServers(t *testing.T) {
	const (
		timeout   = 3 * time.Second
		ioTimeout = time.Second
		maxRead   = 64 << 10
	)
	probers := []probe.Prober{redis.New(), mysql.New(), postgres.New(), memcached.New()}
	var report strings.Builder
	fmt.Fprintf(&report, "\n%-20s %-6s %-10s %-8s %-10s %-11s %s\n", "SERVER", "PROBER", "STATUS", "TIME", "SRV-WROTE", "GOWN-ALLOC", "REASON")
	for _, h := range hostiles {
		for _, p := range probers {
			t.Run(h.name+"/"+p.Kind().Name, func(t *testing.T) {
				var written atomic.Int64
				ap := serveHostile(t, h, h.prefix[p.Kind().Name], &written)
				eng, err := probe.New(probe.Config{Workers: 1, Timeout: timeout, All: true,
					Dialer: probe.DialerConfig{IOTimeout: ioTimeout, MaxRead: maxRead}}, probe.NewRegistry(p))
				if err != nil {
					t.Fatal(err)
				}
				in := make(chan gown.Target, 1)
				in <- gown.Target{Host: ap.Addr().String(), Addr: ap.Addr(), Port: int(ap.Port()), Hint: p.Kind().Name}
				close(in)

				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				start := time.Now()
				var res *gown.Result
				if err := eng.Run(t.Context(), in, func(r *gown.Result) { res = r }); err != nil {
					t.Fatal(err)
				}
				took := time.Since(start)
				runtime.ReadMemStats(&after)
				alloc := after.TotalAlloc - before.TotalAlloc

				if res == nil {
					t.Fatal("no result")
				}
				fmt.Fprintf(&report, "%-20s %-6s %-10s %-8s %-10d %-11d %s\n", h.name, p.Kind().Name, res.Status,
					took.Round(time.Millisecond), written.Load(), alloc, res.Reason)
				if took > timeout+time.Second {
					t.Errorf("took %s, deadline %s", took, timeout)
				}
				if res.Status != h.status || !strings.Contains(res.Reason, h.reason) {
					t.Errorf("status %s (%q), want %s (%q); error %q", res.Status, res.Reason, h.status, h.reason, res.Error)
				}
				// The endless server writes as fast as loopback allows; gown must
				// have stopped after the cap. Allocation stays far below what
				// the stream or the length prefix asked for.
				if alloc > 8<<20 {
					t.Errorf("allocated %d bytes probing a hostile server", alloc)
				}
			})
		}
	}
	t.Log(report.String())
}
