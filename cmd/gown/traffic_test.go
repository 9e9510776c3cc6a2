package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/store"
)

// TestTrafficBed records real clients (curl, redis-cli, the mariadb client)
// talking on loopback to a local HTTP server, an HTTPS server (SNI, ALPN
// h2), an open Redis and an open MariaDB of the test bed, then runs gown
// traffic on the capture with an app whose dex names some of those back
// ends and one the traffic never reached: the report, the join, the
// findings in the store, the probes of the first-party stores, --fail-on,
// and MariaDB's general log showing the probes only read.
func TestTrafficBed(t *testing.T) {
	bed := testbed.Require(t, "redis-open", "mariadb-open")
	redis, maria := bed.Get("redis-open"), bed.Get("mariadb-open")
	person := `{"name":"Amelia Hartmann","email":"amelia.hartmann@mail.example.test","phone":"+49 151 23456789"}`
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, person)
	}))
	defer api.Close()
	secure := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "{}") }))
	secure.EnableHTTP2 = true
	secure.StartTLS()
	defer secure.Close()
	_, hp, _ := net.SplitHostPort(api.Listener.Addr().String())
	_, tp, _ := net.SplitHostPort(secure.Listener.Addr().String())
	rp, mp := strconv.Itoa(int(redis.Addr.Port())), strconv.Itoa(int(maria.Addr.Port()))
	capture := testbed.RecordLoopback(t, fmt.Sprintf("tcp port %s or tcp port %s or tcp port %s or tcp port %s", hp, tp, rp, mp))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	run("curl", "-sS", "--noproxy", "*", "-u", "shopper:s3cret-Basic-pw", "-H", "Content-Type: application/json", "-d", person,
		"http://api.gown-shop.net:"+hp+"/v1/profile", "--resolve", "api.gown-shop.net:"+hp+":127.0.0.1")
	run("curl", "-sS", "--noproxy", "*", "-k", "--http2", "--resolve", "secure.gown-shop.net:"+tp+":127.0.0.1", "https://secure.gown-shop.net:"+tp+"/v1/config")
	run("redis-cli", "-h", redis.Addr.Addr().String(), "-p", rp, "SET", "gown:traffic:profile", person)
	run("mariadb", "--no-defaults", "--skip-ssl", "-h", maria.Addr.Addr().String(), "-P", mp, "-u", "root", "-e", "SELECT full_name, email, phone FROM appdata.users LIMIT 3")
	pcap := capture.Stop()
	mark := len(mustLog(t, maria))

	dir := t.TempDir()
	apk := writeAPK(t, dir, "shopapp.apk", "http://api.gown-shop.net:"+hp+"/v1/profile", "redis://"+redis.Addr.String()+"/0",
		"https://config.gown-shop.net/v1/flags")
	db := filepath.Join(dir, "gown.db")
	var out, errb bytes.Buffer
	err := run2(t, []string{"traffic", pcap, "--app", apk, "--allow-private", "--db", db, "--source", testbed.Source.String(),
		"--ports", rp + "," + mp, "--fail-on", "high"}, &out, &errb)
	t.Logf("gown traffic lo.pcap --app shopapp.apk --allow-private --ports %s,%s --fail-on high:\n%s\nstderr:\n%s", rp, mp, out.String(), errb.String())
	var fe findingsError
	if !errors.As(err, &fe) {
		t.Fatalf("err %v, want findings at or above high", err)
	}
	for _, w := range []string{
		"http      first clear     api.gown-shop.net:" + hp + " (127.0.0.1)",
		"tls       first tls       secure.gown-shop.net:" + tp + " (127.0.0.1)", "alpn h2",
		"redis     first clear     " + redis.Addr.String(), "mysql     first clear     " + maria.Addr.String(),
		"http://api.gown-shop.net:" + hp + "/v1/profile", "CLEARTEXT email", "CREDENTIAL http-basic user=shopper secret=[REDACTED]",
		"CREDENTIAL mysql-login user=root (empty password, accepted)",
		// The app names Redis at a loopback address: a development host
		// to the app (never first-party), reached all the same.
		"both         first    api.gown-shop.net:" + hp, "both         dev      " + redis.Addr.String(),
		"app-only     first    config.gown-shop.net:443", "traffic-only first    " + maria.Addr.String(),
		"traffic-only first    secure.gown-shop.net:" + tp,
		"carried personal data in clear text: email, phone", "sent a credential in clear text: mysql-login (empty password, accepted)",
		"Redis answers without authentication", "MariaDB answers without authentication",
	} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q", w)
		}
	}
	for _, secret := range []string{"s3cret-Basic-pw", "amelia.hartmann@mail", "+49 151 23456789"} {
		if strings.Contains(out.String()+errb.String(), secret) {
			t.Errorf("output holds %q", secret)
		}
	}
	// The store holds the traffic's findings and the probes' results.
	st, err := store.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var scans []gown.ScanMeta
	err = st.Scans(t.Context(), func(m gown.ScanMeta) error { scans = append(scans, m); return nil })
	if err != nil || len(scans) != 1 {
		t.Fatalf("scans %v, %v", scans, err)
	}
	rules := map[string]bool{}
	open := map[string]bool{}
	err = st.Results(t.Context(), scans[0].ID, func(r *gown.Result, fs []gown.Finding) error {
		if r != nil && r.Status == gown.StatusOpen {
			open[r.Store] = true
		}
		for _, f := range fs {
			rules[f.Rule] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"cleartext-personal-data", "cleartext-credential", "cleartext-transport", "open-store"} {
		if !rules[r] {
			t.Errorf("stored findings lack rule %s (have %v)", r, rules)
		}
	}
	if !open["redis"] || !open["mysql"] {
		t.Errorf("open stores %v, want redis and mysql probed open", open)
	}
	// Read-only: gown's sessions on MariaDB sent no write.
	for _, e := range mustLog(t, maria)[mark:] {
		verb, _, _ := strings.Cut(strings.ToUpper(strings.TrimSpace(e.Argument)), " ")
		switch verb {
		case "INSERT", "UPDATE", "DELETE", "DROP", "CREATE", "ALTER", "TRUNCATE", "GRANT", "REPLACE":
			t.Errorf("gown sent a write to MariaDB: %s %s", e.Command, e.Argument)
		}
	}
	// The same capture as JSON, probing nothing: one report object, one
	// join line.
	out.Reset()
	if err := run2(t, []string{"traffic", pcap, "--app", apk, "--no-probe", "--no-store", "--json"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	var sawReport, sawJoin bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %s", line)
		}
		sawReport = sawReport || m["traffic"] != nil
		sawJoin = sawJoin || m["join"] != nil
	}
	if !sawReport || !sawJoin {
		t.Errorf("--json: report %v, join %v", sawReport, sawJoin)
	}
	// The capture cut in the middle of a record: a clear error on stderr,
	// and the back ends read before it are reported.
	raw, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(dir, "cut.pcap")
	if err := os.WriteFile(cut, raw[:len(raw)*2/3+5], 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if err := run2(t, []string{"traffic", cut, "--no-probe", "--no-store"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	t.Logf("gown traffic cut.pcap --no-probe --no-store:\n%s\nstderr:\n%s", out.String(), errb.String())
	if !strings.Contains(errb.String(), "capture truncated: the file ends inside the record") ||
		!strings.Contains(out.String(), "(what came before was read)") || !strings.Contains(out.String(), "api.gown-shop.net:"+hp) {
		t.Error("a cut capture is not reported as such, with what came before it")
	}
}

func mustLog(t *testing.T, s *testbed.Server) []testbed.LogEntry {
	t.Helper()
	l, err := s.ScanLog()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// run2 runs gown with args, returning the command's error.
func run2(t *testing.T, args []string, out, errb *bytes.Buffer) error {
	t.Helper()
	return cmdTraffic(t.Context(), args[1:], stdio{out: out, err: errb})
}
