package probe_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/assess"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/redis"
)

// TestTextPassRealRedis plants keys whose names and values carry terminal
// escapes, C1 controls, a bidi override and invalid UTF-8 in the test bed's
// open Redis (the test writes them; gown only reads, which MONITOR shows),
// then scans it with sampling and assessment on, as gown scan does. The
// result the engine emits holds none of those bytes anywhere, yet shows
// the planted ransom note's name, escaped, where the note was seen.
func TestTextPassRealRedis(t *testing.T) {
	s := testbed.Require(t, "redis-open").Get("redis-open")
	const db = 7 // a database the test bed plants nothing in
	note := "READ_ME\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\xff"
	plant(t, s, db,
		[]string{"SET", note, testbed.RansomMessage + " \x1b[31m\u009b\u202e\xfe"},
		[]string{"HSET", "user:\x1b[2J1", "email\u202e\x1b[0m", "alice.smith@example.org", "name\xff", "Alice\x1b]8;;http://x\x07"},
		[]string{"SET", "\xff\xfe:cart", "\x1b[6n"},
	)
	mon, err := s.Monitor(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	eng, err := probe.New(probe.Config{Workers: 1, Timeout: 30 * time.Second, Sample: probe.DefaultSample,
		Dialer: probe.DialerConfig{Source: testbed.Source}, Analyze: assess.Analyze}, probe.NewRegistry(redis.New()))
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan gown.Target, 1)
	a := s.Addr.Addr()
	in <- gown.Target{Host: a.String(), Addr: a, Port: int(s.Addr.Port()), Hint: "redis"}
	close(in)
	var r *gown.Result
	if err := eng.Run(t.Context(), in, func(x *gown.Result) { r = x }); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range mon.Stop() {
		if verb := strings.ToUpper(strings.Fields(cmd + " x")[0]); !readOnly[verb] {
			t.Errorf("gown sent %q to the server", cmd)
		}
	}
	if r == nil || r.Status != gown.StatusOpen || r.Exposure == nil {
		t.Fatalf("result %+v: want an open, sampled Redis", r)
	}
	checked := 0
	probe.WalkStrings(r, func(path, v string) {
		checked++
		if why := probe.UnsafeText(v); why != "" || strings.ContainsAny(v, "\x1b\x07\u009b\u202e") {
			t.Errorf("%s = %q: %s", path, v, why)
		}
	})
	// The planted note was seen and named, escaped: the pass neutralised
	// it rather than dropping it.
	seen := false
	for _, g := range r.Signs {
		if g.Kind == assess.SignRansomNote && strings.Contains(g.Where, `READ_ME\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\xff`) {
			seen = true
		}
	}
	fields := fmt.Sprint(r.Exposure.Classes)
	if !seen || !strings.Contains(fields, `email\u202e\x1b[0m`) {
		t.Errorf("the planted names did not reach the result escaped: signs %+v, classes %s", r.Signs, fields)
	}
	t.Logf("%d strings checked; signs %+v", checked, r.Signs)
}

// readOnly lists the commands the Redis prober and sampler may send.
var readOnly = map[string]bool{"INFO": true, "PING": true, "DBSIZE": true, "SCAN": true, "TYPE": true, "GET": true,
	"GETRANGE": true, "STRLEN": true, "HSCAN": true, "HLEN": true, "LRANGE": true, "LLEN": true, "SSCAN": true, "SCARD": true,
	"ZRANGE": true, "ZCARD": true, "ZSCAN": true, "XRANGE": true, "XLEN": true, "SELECT": true, "HGETALL": true, "SMEMBERS": true,
	"MEMORY": true, "OBJECT": true, "TTL": true, "PTTL": true, "HELLO": true, "CLIENT": true, "EXISTS": true}

// plant writes commands into database db of a test-bed Redis over a plain
// RESP connection (the test bed's writes, never gown's), and removes the
// keys when the test ends.
func plant(t *testing.T, s *testbed.Server, db int, cmds ...[]string) {
	t.Helper()
	do := func(args ...string) {
		t.Helper()
		c, err := net.DialTimeout("tcp", s.Addr.String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		var b strings.Builder
		for _, cmd := range [][]string{{"SELECT", fmt.Sprint(db)}, args} {
			fmt.Fprintf(&b, "*%d\r\n", len(cmd))
			for _, a := range cmd {
				fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
			}
		}
		if _, err := c.Write([]byte(b.String())); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		for range 2 {
			line, err := br.ReadString('\n')
			if err != nil || strings.HasPrefix(line, "-") {
				t.Fatalf("redis %q: %q, %v", args[0], line, err)
			}
		}
	}
	for _, cmd := range cmds {
		do(cmd...)
	}
	t.Cleanup(func() { do("FLUSHDB") })
}
