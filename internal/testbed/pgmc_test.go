package testbed

import (
	"crypto/tls"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// testPostgresLog runs statements from Source as a scan would and finds
// exactly them, and none of the planting, in PostgresStatements.
func testPostgresLog(t *testing.T, s *Server) {
	cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%d user=postgres dbname=shop sslmode=disable application_name=scan-test",
		s.Addr.Addr(), s.Addr.Port()))
	if err != nil {
		t.Fatal(err)
	}
	cfg.DialFunc = Dialer().DialContext
	c, err := pgconn.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(t.Context(), "SELECT 1").ReadAll(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(t.Context(), "SELECT\n  2").ReadAll(); err != nil {
		t.Fatal(err)
	}
	c.Close(t.Context())

	got, err := s.PostgresStatements()
	if err != nil {
		t.Fatal(err)
	}
	var sqls []string
	for _, st := range got {
		sqls = append(sqls, st.SQL)
		if st.App != "scan-test" || st.Host != Source.String() || st.DB != "shop" {
			t.Errorf("statement %+v: want app scan-test from %s on shop", st, Source)
		}
	}
	if !slices.Equal(sqls, []string{"SELECT 1", "SELECT\n  2"}) {
		t.Errorf("PostgresStatements = %q, want the two SELECTs", sqls)
	}
	all, err := s.PostgresLog()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(all, func(e PGLogEntry) bool {
		return e.Setup && e.DB == "shop" && strings.Contains(e.Message, `INSERT INTO "customers"`)
	}) {
		t.Errorf("the log lacks the planting statements: %d entries", len(all))
	}
}

// testPostgresTLS checks the certificate postgres-tls serves.
func testPostgresTLS(t *testing.T, s *Server) {
	c, err := Dialer().DialContext(t.Context(), "tcp", s.Addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, pgSSLRequest)
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != 'S' {
		t.Fatalf("SSLRequest: %q, %v", b[0], err)
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	cert := tc.ConnectionState().PeerCertificates[0]
	if cert.Subject.CommonName != pgCertCN || cert.Issuer.String() != cert.Subject.String() {
		t.Errorf("certificate %s issued by %s", cert.Subject, cert.Issuer)
	}
}

// mcAsScan sends req from Source and reads n lines of answer.
func mcAsScan(t *testing.T, s *Server, req string, n int) []string {
	c, r, done, err := s.mcDial(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	io.WriteString(c, req)
	var out []string
	for range n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("%s: %q: %v", s.Name, req, err)
		}
		out = append(out, strings.TrimRight(line, "\r\n"))
	}
	return out
}

func testMemcachedLog(t *testing.T, s *Server) {
	mcAsScan(t, s, "version\r\nget session:1\r\n", 3)
	got := waitCommands(t, s, 2)
	if len(got) != 2 || got[0].Text != "version" || got[1].Text != "get session:1" || got[0].Conn != got[1].Conn {
		t.Errorf("MemcachedCommands = %+v, want version and get from one connection", got)
	}
	all, err := s.MemcachedLog()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(all, func(c MemcachedCommand) bool { return c.Setup && strings.HasPrefix(c.Text, "set session:39 ") }) {
		t.Errorf("the log lacks the planting: %d commands", len(all))
	}
}

// waitCommands polls until the scan's commands number n: memcached logs
// from a worker thread.
func waitCommands(t *testing.T, s *Server, n int) []MemcachedCommand {
	var got []MemcachedCommand
	var err error
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, err = s.MemcachedCommands(); err != nil {
			t.Fatal(err)
		}
		if len(got) >= n {
			break
		}
	}
	return got
}

// testMemcachedAuth pins down what the logs of the two auth configs show: a
// command refused by -Y is not logged at all; a binary request to -S is.
func testMemcachedAuth(t *testing.T, b *Bed) {
	auth := b.Get("memcached-auth")
	if got := mcAsScan(t, auth, "stats\r\n", 1); got[0] != "CLIENT_ERROR unauthenticated" {
		t.Errorf("memcached-auth answered %q", got)
	}
	if got, err := auth.MemcachedCommands(); err != nil || len(got) != 0 {
		t.Errorf("memcached-auth commands %+v, %v: want none (refusals are not logged)", got, err)
	}
	sasl := b.Get("memcached-sasl")
	c, r, done, err := sasl.mcDial(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	req := mcRequest(mcOpStat, "", nil, "")
	copy(req[12:16], "scan")
	c.Write(req)
	if resp, err := readMCResponse(r); err != nil || resp.status != mcStatusAuth {
		t.Fatalf("binary stat: %+v, %v", resp, err)
	}
	if got := waitCommands(t, sasl, 1); len(got) != 1 || got[0].Text != "binary 0x10" {
		t.Errorf("memcached-sasl commands %+v, want one binary 0x10", got)
	}
}

func TestParsePGLog(t *testing.T) {
	text := "2026-11-26 20:00:00.123 UTC [10] c=6745e1.a h= d= a=: LOG:  database system is ready to accept connections\n" +
		"2026-11-26 20:00:01.000 UTC [11] c=6745e2.b h=127.0.0.2 d= a=: LOG:  connection received: host=127.0.0.2 port=5000\n" +
		"2026-11-26 20:00:01.001 UTC [11] c=6745e2.b h=127.0.0.2 d=shop a=gown: LOG:  statement: SELECT\n" +
		"\t  1\n" +
		"2026-11-26 20:00:01.002 UTC [11] c=6745e2.b h=127.0.0.2 d=shop a=odd: name: ERROR:  boom\n" +
		"2026-11-26 20:00:01.003 UTC [12] c=6745e3.c h=[local] d=shop a=gown-testbed: LOG:  execute <unnamed>: INSERT 1\n"
	got := parsePGLog(text)
	if len(got) != 5 || got[2].Message != "statement: SELECT\n  1" || got[3].App != "odd: name" || got[3].Severity != "ERROR" ||
		got[4].Host != "[local]" || got[1].Session != "6745e2.b" {
		t.Errorf("parsePGLog = %+v", got)
	}
	if m := pgStatement.FindStringSubmatch(got[4].Message); m == nil || m[1] != "INSERT 1" {
		t.Errorf("execute not recognised: %q", m)
	}
}

func TestParseMemcachedLog(t *testing.T) {
	text := "slab class   1: chunk size        96 perslab   10922\n" +
		"<23 server listening (auto-negotiate)\n" +
		"<24 new auto-negotiating client connection\n" +
		"<24 get " + mcSetupKey + "\n" + "<24 set session:0 0 0 7\n" + ">24 STORED\n" +
		"<24 connection closed.\n" +
		"<24 new auto-negotiating client connection\n" +
		"<24 stats\n" + "<24 stats settings\n" + "<24 connection closed.\n" +
		"<25 new binary client connection.\n" + "<25 Read binary protocol data:\n" +
		"<25    0x80 0x10 0x00 0x00\n<25    0x00 0x00 0x00 0x00\n<25    0x00 0x00 0x00 0x00\n" +
		"<25    0x67 0x74 0x62 0x64\n<25    0x00 0x00 0x00 0x00\n<25    0x00 0x00 0x00 0x00\n" +
		"<25 STATS\n" +
		"<26 new binary client connection.\n" + "<26 Read binary protocol data:\n" +
		"<26    0x73 0x74 0x61 0x74\n<26    0x73 0x20 0x20 0x20\n" +
		// Another thread's line cuts a header dump short.
		"<27 new binary client connection.\n" + "<27 Read binary protocol data:\n" +
		"<27    0x73 0x74<26 connection closed.\n" + "<23 <27 connection closed.\n"
	want := []MemcachedCommand{
		{1, "get " + mcSetupKey, true}, {1, "set session:0 0 0 7", true},
		{2, "stats", false}, {2, "stats settings", false},
		{3, "binary 0x10", true},
		{4, "binary, bad magic: 0x73 0x74 0x61 0x74", false},
		{5, "binary, bad magic: 0x73 0x74", false},
	}
	if got := parseMemcachedLog(text); !slices.Equal(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}
