package redis

import (
	"context"
	"errors"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// Replies as Redis 7.0.15 sends them.
const (
	noauth7   = "-NOAUTH Authentication required.\r\n"
	wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
	noperm7   = "-NOPERM this user has no permissions to run the 'info' command\r\n"
	denied7   = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"
)

// infoReplica is a replica whose master is a stranger's host, with more than
// 4 GiB in use.
const infoReplica = "# Server\r\nredis_version:6.2.14\r\nredis_mode:standalone\r\nos:Linux 5.15.0 x86_64\r\n\r\n" +
	"# Memory\r\nused_memory:5000000000\r\n\r\n" +
	"# Replication\r\nrole:slave\r\nmaster_host:203.0.113.7\r\nmaster_port:8886\r\nmaster_link_status:up\r\n\r\n" +
	"# Keyspace\r\ndb0:keys=4,expires=0,avg_ttl=0\r\n"

const infoSentinel = "# Server\r\nredis_version:7.0.15\r\nredis_mode:sentinel\r\nos:Linux 6.1.0 x86_64\r\n\r\n" +
	"# Sentinel\r\nsentinel_masters:1\r\nmaster0:name=mymaster,status=ok,address=127.0.0.1:6379,slaves=0,sentinels=1\r\n"

const infoValkey = "# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\nredis_mode:standalone\r\n" +
	"# Keyspace\r\n"

type want struct {
	status  gown.Status
	product string
	version string
	reason  string            // the exact reason
	details map[string]string // exactly these details
	inv     *gown.Inventory   // exactly this inventory, nil for none
	tls     gown.TLSMode
	steps   []string // the evidence steps, in order
}

// verdictCases pairs each stand-in with the result it must give.
var verdictCases = []struct {
	name string
	srv  fake
	want want
}{
	{"open", fake{replies: map[string]string{"INFO": bulk(info7)}}, want{
		status: gown.StatusOpen, product: "Redis", version: "7.0.15", reason: "INFO answered without AUTH",
		details: map[string]string{"redis_mode": "standalone", "role": "master", "os": "Linux 6.1.0 x86_64"},
		inv:     &gown.Inventory{Databases: []gown.Database{{Name: "db0", Items: 3}, {Name: "db2", Items: 5}}, Items: 8, Bytes: 989520},
		tls:     gown.TLSNone, steps: []string{"INFO"},
	}},
	{"replica of a stranger, over 4 GiB", fake{replies: map[string]string{"INFO": bulk(infoReplica)}}, want{
		status: gown.StatusOpen, product: "Redis", version: "6.2.14", reason: "INFO answered without AUTH",
		details: map[string]string{"redis_mode": "standalone", "role": "slave", "os": "Linux 5.15.0 x86_64", "master_host": "203.0.113.7", "master_port": "8886"},
		inv:     &gown.Inventory{Databases: []gown.Database{{Name: "db0", Items: 4}}, Items: 4, Bytes: 5000000000},
		tls:     gown.TLSNone, steps: []string{"INFO"},
	}},
	{"valkey", fake{replies: map[string]string{"INFO": bulk(infoValkey)}}, want{
		status: gown.StatusOpen, product: "Valkey", version: "8.0.1", reason: "INFO answered without AUTH",
		details: map[string]string{"redis_mode": "standalone"}, inv: &gown.Inventory{}, tls: gown.TLSNone, steps: []string{"INFO"},
	}},
	{"sentinel", fake{replies: map[string]string{"INFO": bulk(infoSentinel)}}, want{
		status: gown.StatusNotService, product: "Redis Sentinel", version: "7.0.15",
		reason:  "Redis Sentinel monitors other servers and holds no data",
		details: map[string]string{"redis_mode": "sentinel", "os": "Linux 6.1.0 x86_64"}, tls: gown.TLSNone, steps: []string{"INFO"},
	}},
	{"requirepass", fake{replies: map[string]string{"INFO": noauth7, "PING": noauth7}}, want{
		status: gown.StatusAuthRequired, product: "Redis", reason: "server demands AUTH (NOAUTH)", tls: gown.TLSNone, steps: []string{"INFO"},
	}},
	{"wrongpass", fake{replies: map[string]string{"INFO": wrongpass}}, want{
		status: gown.StatusAuthRequired, product: "Redis", reason: "server refuses the default user without a password (WRONGPASS)",
		tls: gown.TLSNone, steps: []string{"INFO"},
	}},
	{"Redis 2.6 with a password", fake{replies: map[string]string{"INFO": "-ERR operation not permitted\r\n"}}, want{
		status: gown.StatusAuthRequired, product: "Redis", reason: "server demands AUTH (operation not permitted)",
		tls: gown.TLSNone, steps: []string{"INFO"},
	}},
	{"protected mode", fake{greet: denied7}, want{
		status: gown.StatusProtected, product: "Redis", reason: "protected mode refuses non-loopback clients (DENIED)",
		tls: gown.TLSNone, steps: []string{"INFO"},
	}},
	{"ACL: no INFO, DBSIZE answers, SCAN refused", fake{replies: map[string]string{"INFO": noperm7, "DBSIZE": ":42\r\n"}}, want{
		status: gown.StatusRestricted, product: "Redis", reason: "ACL forbids INFO to the default user (NOPERM); DBSIZE still answers; SCAN names no key",
		details: map[string]string{"acl_reads": "dbsize"},
		inv:     &gown.Inventory{Databases: []gown.Database{{Name: "db0", Items: 42}}, Items: 42},
		tls:     gown.TLSNone, steps: []string{"INFO", "DBSIZE", "SCAN"},
	}},
	{"ACL: nothing", fake{replies: map[string]string{"INFO": noperm7, "DBSIZE": "-NOPERM this user has no permissions to run the 'dbsize' command\r\n",
		"SCAN": "-NOPERM this user has no permissions to run the 'scan' command\r\n"}}, want{
		status: gown.StatusRestricted, product: "Redis", reason: "ACL forbids INFO to the default user (NOPERM); SCAN names no key",
		tls: gown.TLSNone, steps: []string{"INFO", "DBSIZE", "SCAN"},
	}},
	{"ACL: no INFO, an empty keyspace", fake{replies: map[string]string{"INFO": noperm7, "DBSIZE": ":0\r\n"}}, want{
		status: gown.StatusRestricted, product: "Redis", reason: "ACL forbids INFO to the default user (NOPERM); DBSIZE still answers, but db0 holds no key to read",
		details: map[string]string{"acl_reads": "dbsize"},
		inv:     &gown.Inventory{Databases: []gown.Database{{Name: "db0"}}},
		tls:     gown.TLSNone, steps: []string{"INFO", "DBSIZE"},
	}},
	// +@read with ~*: INFO is @dangerous, yet every key reads.
	{"ACL: no INFO, values readable", fake{replies: map[string]string{"INFO": noperm7, "DBSIZE": ":2\r\n",
		"SCAN": "*2\r\n$1\r\n0\r\n*2\r\n$9\r\nsession:1\r\n$6\r\nuser:1\r\n", "TYPE": "+string\r\n", "GETRANGE": "$5\r\ntoken\r\n"}}, want{
		status: gown.StatusOpen, product: "Redis", reason: "ACL forbids INFO to the default user (NOPERM), yet it reads the keys' values",
		details: map[string]string{"acl_reads": "values"},
		inv:     &gown.Inventory{Databases: []gown.Database{{Name: "db0", Items: 2}}, Items: 2},
		tls:     gown.TLSNone, steps: []string{"INFO", "DBSIZE", "SCAN", "TYPE", "GETRANGE"},
	}},
	// +@read with no key pattern: keys are named but none reads.
	{"ACL: no INFO, keys refused", fake{replies: map[string]string{"INFO": noperm7, "DBSIZE": ":2\r\n",
		"SCAN": "*2\r\n$1\r\n0\r\n*2\r\n$9\r\nsession:1\r\n$6\r\nuser:1\r\n", "TYPE": "-NOPERM No permissions to access a key\r\n"}}, want{
		status: gown.StatusRestricted, product: "Redis", reason: "ACL forbids INFO to the default user (NOPERM); DBSIZE still answers; reading each of the 2 keys SCAN named is refused too",
		details: map[string]string{"acl_reads": "dbsize"},
		inv:     &gown.Inventory{Databases: []gown.Database{{Name: "db0", Items: 2}}, Items: 2},
		tls:     gown.TLSNone, steps: []string{"INFO", "DBSIZE", "SCAN", "TYPE", "TYPE"},
	}},
	// A hash the ACL lets TYPE see but not read (a write-only key pattern).
	{"ACL: type seen, value refused", fake{replies: map[string]string{"INFO": noperm7, "DBSIZE": ":1\r\n",
		"SCAN": "*2\r\n$1\r\n0\r\n*1\r\n$6\r\nuser:1\r\n", "TYPE": "+hash\r\n", "HSCAN": "-NOPERM No permissions to access a key\r\n"}}, want{
		status: gown.StatusRestricted, product: "Redis", reason: "ACL forbids INFO to the default user (NOPERM); DBSIZE still answers; reading the key SCAN named is refused too",
		details: map[string]string{"acl_reads": "dbsize"},
		inv:     &gown.Inventory{Databases: []gown.Database{{Name: "db0", Items: 1}}, Items: 1},
		tls:     gown.TLSNone, steps: []string{"INFO", "DBSIZE", "SCAN", "TYPE", "HSCAN"},
	}},
	{"INFO renamed", fake{replies: map[string]string{"PING": "+PONG\r\n", "DBSIZE": ":7\r\n"}}, want{
		status: gown.StatusOpen, product: "Redis", reason: "INFO renamed; PING answered",
		details: map[string]string{"info": "renamed"},
		inv:     &gown.Inventory{Databases: []gown.Database{{Name: "db0", Items: 7}}, Items: 7},
		tls:     gown.TLSNone, steps: []string{"INFO", "PING", "DBSIZE", "SCAN"},
	}},
	{"INFO renamed, DBSIZE too", fake{replies: map[string]string{"PING": "+PONG\r\n"}}, want{
		status: gown.StatusOpen, product: "Redis", reason: "INFO renamed; PING answered",
		details: map[string]string{"info": "renamed"}, tls: gown.TLSNone, steps: []string{"INFO", "PING", "DBSIZE", "SCAN"},
	}},
	{"INFO and PING renamed", fake{replies: map[string]string{"DBSIZE": ":1\r\n"}}, want{
		status: gown.StatusOpen, product: "Redis", reason: "INFO and PING renamed; DBSIZE answered",
		details: map[string]string{"info": "renamed"},
		inv:     &gown.Inventory{Databases: []gown.Database{{Name: "db0", Items: 1}}, Items: 1},
		tls:     gown.TLSNone, steps: []string{"INFO", "PING", "DBSIZE", "SCAN"},
	}},
	// INFO renamed and an ACL with no key pattern: commands run without
	// AUTH, yet no key reads.
	{"INFO renamed, keys refused", fake{replies: map[string]string{"PING": "+PONG\r\n", "DBSIZE": ":1\r\n",
		"SCAN": "*2\r\n$1\r\n0\r\n*1\r\n$6\r\nuser:1\r\n", "TYPE": "-NOPERM No permissions to access a key\r\n"}}, want{
		status: gown.StatusRestricted, product: "Redis", reason: "INFO renamed; PING answered; but reading the key SCAN named is refused",
		details: map[string]string{"info": "renamed"},
		inv:     &gown.Inventory{Databases: []gown.Database{{Name: "db0", Items: 1}}, Items: 1},
		tls:     gown.TLSNone, steps: []string{"INFO", "PING", "DBSIZE", "SCAN", "TYPE"},
	}},
	{"everything renamed", fake{replies: map[string]string{}}, want{
		status: gown.StatusUnknown, product: "Redis", reason: "INFO and PING renamed; DBSIZE refused",
		details: map[string]string{"info": "renamed"}, tls: gown.TLSNone, steps: []string{"INFO", "PING", "DBSIZE"},
	}},
	{"INFO renamed behind a password", fake{replies: map[string]string{"PING": noauth7}}, want{
		status: gown.StatusAuthRequired, product: "Redis", reason: "server demands AUTH (NOAUTH)",
		details: map[string]string{"info": "renamed"}, tls: gown.TLSNone, steps: []string{"INFO", "PING"},
	}},
	{"other error", fake{replies: map[string]string{"INFO": "-LOADING Redis is loading the dataset in memory\r\n"}}, want{
		status: gown.StatusUnknown, product: "Redis", reason: `INFO refused: "LOADING Redis is loading the dataset in memory"`,
		tls: gown.TLSNone, steps: []string{"INFO"},
	}},
	{"simple string to INFO", fake{raw: "+OK POP3 server ready\r\n"}, want{
		status: gown.StatusUnknown, product: "Redis", reason: "INFO answered with a RESP simple string, not the expected reply",
		tls: gown.TLSNone, steps: []string{"INFO"},
	}},
	{"empty bulk", fake{replies: map[string]string{"INFO": "$0\r\n\r\n"}}, want{
		status: gown.StatusUnknown, product: "Redis", reason: "INFO answered with text that holds no info fields",
		tls: gown.TLSNone, steps: []string{"INFO"},
	}},
	{"HTTP server", fake{raw: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"}, want{
		status: gown.StatusNotService, reason: "reply is not RESP; it looks like HTTP",
		details: map[string]string{"reply": "http"}, steps: []string{"INFO"},
	}},
	{"SSH server", fake{raw: "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"}, want{
		status: gown.StatusNotService, reason: "reply is not RESP; it looks like SSH",
		details: map[string]string{"reply": "ssh"}, steps: []string{"INFO"},
	}},
	{"garbage", fake{raw: "hello there\r\n"}, want{
		status: gown.StatusNotService, reason: "reply is not RESP", steps: []string{"INFO"},
	}},
	{"TLS alert to plaintext", fake{raw: "\x15\x03\x01\x00\x02\x02\x32"}, want{
		// The alert makes gown retry over TLS, which fails, so
		// plaintext's verdict stands.
		status: gown.StatusNotService, reason: "reply is not RESP; it looks like TLS",
		details: map[string]string{"reply": "tls"}, steps: []string{"INFO"},
	}},
}

func TestProbeVerdicts(t *testing.T) {
	for _, tt := range verdictCases {
		t.Run(tt.name, func(t *testing.T) {
			r, err := probeTarget(t, tt.srv.start(t))
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			check(t, r, tt.want)
		})
	}
}

func TestProbeTLS(t *testing.T) {
	srv := fake{tls: selfSigned(t, "cache.example"), replies: map[string]string{"INFO": bulk(info7)}}
	tests := []struct {
		name  string
		hint  bool
		steps []string
	}{
		// rediss:// targets go to TLS at once.
		{"TLS hint", true, []string{"INFO"}},
		// A tls-port resets a plaintext INFO; gown retries over TLS.
		{"plaintext reset, TLS retried", false, []string{"INFO", "INFO"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := srv.start(t)
			tg.TLS, tg.Host = tt.hint, "cache.example"
			r, err := probeTarget(t, tg)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			if r.TLS.Mode != gown.TLSRequired || r.TLS.Subject != "CN=cache.example" || !r.TLS.SelfSigned || r.TLS.NotAfter.IsZero() {
				t.Errorf("TLS = %+v", r.TLS)
			}
			if r.Status != gown.StatusOpen || r.Inventory == nil || r.Inventory.Items != 8 {
				t.Errorf("status %s, inventory %+v", r.Status, r.Inventory)
			}
			if got := steps(r); !reflect.DeepEqual(got, tt.steps) {
				t.Errorf("evidence steps = %q, want %q", got, tt.steps)
			}
		})
	}
}

// TestProbeTLSFallsBackToPlaintext covers plaintext Redis on a TLS hint: the
// handshake fails on Redis's error reply and plaintext is tried.
func TestProbeTLSFallsBackToPlaintext(t *testing.T) {
	tg := fake{replies: map[string]string{"INFO": bulk(info7)}}.start(t)
	tg.TLS = true
	r, err := probeTarget(t, tg)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if r.TLS.Mode != gown.TLSNone || r.Status != gown.StatusOpen || r.TLS.Subject != "" {
		t.Errorf("TLS %+v status %q", r.TLS, r.Status)
	}
}

func TestProbeErrors(t *testing.T) {
	tests := []struct {
		name string
		srv  fake
		err  error
	}{
		{"bad framing", fake{raw: "$abc\r\n"}, gown.ErrProtocol},
		{"reply too large", fake{raw: "$999999999\r\n"}, gown.ErrReplyTooLarge},
		{"silent", fake{silent: true}, os.ErrDeadlineExceeded},
		// Dropped without a byte over plaintext and over TLS alike.
		{"dropped", fake{drop: true}, errSilent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := probeTarget(t, tt.srv.start(t))
			if r != nil || !errors.Is(err, tt.err) {
				t.Fatalf("got %+v, %v; want error %v", r, err, tt.err)
			}
			if !strings.Contains(err.Error(), "redis INFO on 127.0.0.1:") {
				t.Errorf("error %q does not name the operation and target", err)
			}
		})
	}
}

func TestProbeClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := fake{}.start(t)
	tg.Port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r, err := probeTarget(t, tg)
	var de *probe.DialError
	if r != nil || !errors.As(err, &de) || de.Status != gown.StatusClosed {
		t.Fatalf("got %+v, %v; want a DialError for a closed port", r, err)
	}
}

func TestProber(t *testing.T) {
	p := New()
	k := p.Kind()
	want := []gown.Scheme{{Name: "redis", Port: 6379}, {Name: "rediss", Port: 6379, TLS: true}}
	if k.Name != "redis" || !reflect.DeepEqual(k.Ports, []int{6379, 6380}) || !reflect.DeepEqual(k.Schemes, want) ||
		k.HintOnly || k.ServerFirst {
		t.Errorf("kind %+v", k)
	}
}

func probeTarget(t *testing.T, tg gown.Target) (*gown.Result, error) {
	t.Helper()
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return New().Probe(ctx, tg, d)
}

func check(t *testing.T, r *gown.Result, w want) {
	t.Helper()
	if r.Status != w.status || r.Product != w.product || r.Version != w.version || r.Reason != w.reason {
		t.Errorf("got %s %q %q %q, want %s %q %q %q", r.Status, r.Product, r.Version, r.Reason, w.status, w.product, w.version, w.reason)
	}
	if r.Store != "redis" {
		t.Errorf("store %q", r.Store)
	}
	if len(r.Details) != 0 || len(w.details) != 0 {
		if !reflect.DeepEqual(r.Details, w.details) {
			t.Errorf("details = %v, want %v", r.Details, w.details)
		}
	}
	if !reflect.DeepEqual(r.Inventory, w.inv) {
		t.Errorf("inventory = %+v, want %+v", r.Inventory, w.inv)
	}
	if r.TLS.Mode != w.tls {
		t.Errorf("TLS mode %q, want %q", r.TLS.Mode, w.tls)
	}
	if got := steps(r); !reflect.DeepEqual(got, w.steps) {
		t.Errorf("evidence steps = %q, want %q", got, w.steps)
	}
	for _, e := range r.Evidence {
		if e.Received == "" {
			t.Errorf("step %s recorded nothing received", e.Step)
		}
	}
}

func steps(r *gown.Result) []string {
	var out []string
	for _, e := range r.Evidence {
		out = append(out, e.Step)
	}
	return out
}
