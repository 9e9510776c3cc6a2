package traffic

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/pcapgo"
	"github.com/gownscan/gown/internal/testbed"
)

func TestMain(m *testing.M) { os.Exit(testbed.Main(m)) }

// scenario is what TestCaptureBed records: real clients (curl, redis-cli,
// the mariadb client) talking to test-bed servers and local HTTP and HTTPS
// servers, on loopback.
type scenario struct {
	httpAddr, tlsAddr   string
	redis, mariadb      *testbed.Server
	sni                 string
	capture             string
	basicUser, password string
}

// personJSON is what the app sends and gets back in clear: planted
// personal data.
const personJSON = `{"name":"Amelia Hartmann","email":"amelia.hartmann@mail.example.test","phone":"+49 151 23456789","card":"4111 1111 1111 1111"}`

// recordScenario records the scenario and returns it with the capture's
// path.
func recordScenario(t *testing.T) *scenario {
	bed := testbed.Require(t, "redis-password", "mariadb-open")
	sc := &scenario{redis: bed.Get("redis-password"), mariadb: bed.Get("mariadb-open"), sni: "api.gown-shop.test",
		basicUser: "shopper", password: "s3cret-Basic-pw"}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, personJSON)
	}))
	defer api.Close()
	secure := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	secure.EnableHTTP2 = true
	secure.StartTLS()
	defer secure.Close()
	sc.httpAddr, sc.tlsAddr = api.Listener.Addr().String(), secure.Listener.Addr().String()
	_, hp, _ := net.SplitHostPort(sc.httpAddr)
	_, tp, _ := net.SplitHostPort(sc.tlsAddr)
	filter := fmt.Sprintf("tcp port %s or tcp port %s or tcp port %d or tcp port %d", hp, tp, sc.redis.Addr.Port(), sc.mariadb.Addr.Port())
	c := testbed.RecordLoopback(t, filter)

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	// HTTP in clear: Basic auth, a JSON body with personal data; the reply
	// holds personal data too.
	run("curl", "-sS", "--noproxy", "*", "-u", sc.basicUser+":"+sc.password, "-H", "Content-Type: application/json",
		"-d", personJSON, "http://"+sc.httpAddr+"/v1/profile?session=abc")
	// TLS with SNI and ALPN h2.
	run("curl", "-sS", "--noproxy", "*", "-k", "--http2", "--resolve", sc.sni+":"+tp+":127.0.0.1", "https://"+sc.sni+":"+tp+"/v1/config")
	// Redis: AUTH, then a write of a record holding personal data.
	run("redis-cli", "-h", sc.redis.Addr.Addr().String(), "-p", strconv.Itoa(int(sc.redis.Addr.Port())), "--no-auth-warning",
		"-a", sc.redis.Password, "SET", "gown:traffic:profile", personJSON)
	// MariaDB: root with an empty password, no TLS, a read of the corpus.
	run("mariadb", "--no-defaults", "--skip-ssl", "-h", sc.mariadb.Addr.Addr().String(), "-P", strconv.Itoa(int(sc.mariadb.Addr.Port())),
		"-u", "root", "-e", "SELECT full_name, email, phone FROM appdata.users LIMIT 3")
	sc.capture = c.Stop()
	t.Logf("tcpdump: %s", strings.TrimSpace(c.Log()))
	return sc
}

func TestCaptureBed(t *testing.T) {
	sc := recordScenario(t)
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.ReadFile(t.Context(), sc.capture); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	// The same capture written as pcapng by another writer (gopacket's
	// pcapgo) reads alike, packet for packet and back end for back end.
	ng := toPcapng(t, sc.capture)
	a2, _ := New(Config{})
	if err := a2.ReadFile(t.Context(), ng); err != nil {
		t.Fatal(err)
	}
	rep2 := a2.Report()
	if rep2.Files[0].Format != "pcapng" || rep2.Counts != rep.Counts || len(rep2.Backends) != len(rep.Backends) || len(rep2.Credentials) != len(rep.Credentials) {
		t.Errorf("pcapng copy: %+v %d back ends, pcap: %+v %d back ends", rep2.Counts, len(rep2.Backends), rep.Counts, len(rep.Backends))
	}
	t.Setenv("GOWN_TRAFFIC_PCAP", sc.capture)
	t.Run("AgainstPcapgo", TestAgainstPcapgo)
	js, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("report:\n%s", js)
	by := map[string]Backend{}
	for _, b := range rep.Backends {
		by[hostPort(b.Addr, b.Port)] = b
	}
	httpB, tlsB := by[sc.httpAddr], by[sc.tlsAddr]
	redisB, myB := by[sc.redis.Addr.String()], by[sc.mariadb.Addr.String()]
	check := func(what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: not as expected", what)
		}
	}
	check("http backend", httpB.Protocol == "http" && httpB.Cleartext && slices.Contains(httpB.URLs, "http://"+sc.httpAddr+"/v1/profile"))
	check("tls backend", tlsB.Protocol == "tls" && tlsB.TLS && !tlsB.Cleartext && tlsB.Host == sc.sni && len(tlsB.ALPN) > 0 && tlsB.ALPN[0] == "h2")
	check("redis backend", redisB.Protocol == "redis" && redisB.Cleartext)
	check("mysql backend", myB.Protocol == "mysql" && myB.Cleartext)
	for _, b := range []Backend{httpB, redisB, myB} {
		cls := sensitive(b)
		if !slices.Contains(cls, "email") || !slices.Contains(cls, "phone") {
			t.Errorf("%s: classes %v, want email and phone", b.label(), cls)
		}
	}
	kinds := map[string]Credential{}
	for _, c := range rep.Credentials {
		kinds[c.Kind] = c
	}
	if c := kinds["http-basic"]; c.User != sc.basicUser || c.Secret != "[REDACTED]" {
		t.Errorf("http-basic: %+v", c)
	}
	if c := kinds["redis-auth"]; c.Secret != "[REDACTED]" {
		t.Errorf("redis-auth: %+v", c)
	}
	if c := kinds["mysql-login"]; c.User != "root" || !strings.HasPrefix(c.Detail, "empty password") || !strings.Contains(c.Detail, "accepted") {
		t.Errorf("mysql-login: %+v", c)
	}
	// Nothing secret or personal leaves unmasked.
	for _, secret := range []string{sc.password, sc.redis.Password, "amelia.hartmann@mail", "4111 1111 1111 1111", "+49 151 23456789"} {
		if strings.Contains(string(js), secret) {
			t.Errorf("report holds %q", secret)
		}
	}
	fs := rep.Findings()
	rules := map[string]int{}
	for _, f := range fs {
		rules[f.Rule+" "+f.Target.String()]++
		t.Logf("%-8s %s %s", f.Severity, f.Rule, f.Title)
	}
	for _, want := range []string{"cleartext-personal-data " + sc.httpAddr, "cleartext-credential " + sc.httpAddr,
		"cleartext-personal-data " + sc.redis.Addr.String(), "cleartext-credential " + sc.redis.Addr.String(),
		"cleartext-personal-data " + sc.mariadb.Addr.String(), "cleartext-credential " + sc.mariadb.Addr.String()} {
		if rules[want] != 1 {
			t.Errorf("findings lack %q (have %v)", want, rules)
		}
	}
	for k := range rules {
		if strings.Contains(k, sc.tlsAddr) || strings.Contains(k, sc.sni) {
			t.Errorf("TLS traffic graded as clear text: %s", k)
		}
	}
}

// toPcapng copies a pcap file into pcapng with gopacket's writer.
func toPcapng(t *testing.T, path string) string {
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out := path + "ng"
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pcapgo.NewNgWriter(f, r.LinkType())
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return out
}
