package traffic

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mitmdump finds the mitmproxy that scripts/install-deps.sh installs in a
// venv (GOWN_MITMDUMP overrides); without it the test is skipped, or
// failed in CI.
func mitmdump(t *testing.T) string {
	for _, p := range []string{os.Getenv("GOWN_MITMDUMP"), "/var/cache/gown/mitmproxy-venv/bin/mitmdump"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("mitmdump not installed: run scripts/install-deps.sh as root")
	}
	t.Skip("mitmdump not installed (scripts/install-deps.sh installs it; set CI=true to fail instead)")
	return ""
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestMitmproxyHAR records a HAR file with a real proxy: mitmproxy in
// reverse-proxy mode in front of a local HTTP server and a local HTTPS
// server, curl as the client. The HAR is read streamed: the clear-text
// back end with its personal data and Basic password, the TLS one with
// nothing graded.
func TestMitmproxyHAR(t *testing.T) {
	bin := mitmdump(t)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, personJSON)
	}))
	defer api.Close()
	secure := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"flags":[]}`) }))
	defer secure.Close()
	dir := t.TempDir()
	har := filepath.Join(dir, "app.har")
	p1, p2 := freePort(t), freePort(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--listen-host", "127.0.0.1",
		"--mode", "reverse:"+api.URL+"@"+strconv.Itoa(p1), "--mode", "reverse:"+secure.URL+"@"+strconv.Itoa(p2),
		"--ssl-insecure", "--set", "confdir="+filepath.Join(dir, "conf"), "--set", "hardump="+har, "-q")
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var errb strings.Builder
	cmd.Stdout, cmd.Stderr = &errb, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for _, p := range []int{p1, p2} {
		for deadline := time.Now().Add(30 * time.Second); ; {
			c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("mitmdump did not listen on %d: %s", p, errb.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	curl := func(args ...string) {
		t.Helper()
		if out, err := exec.CommandContext(ctx, "curl", append([]string{"-sS", "--noproxy", "*"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
	}
	curl("-u", "shopper:s3cret-Basic-pw", "-H", "Content-Type: application/json", "-d", personJSON, "http://127.0.0.1:"+strconv.Itoa(p1)+"/v1/profile")
	curl("-k", "https://127.0.0.1:"+strconv.Itoa(p2)+"/v1/config")
	// mitmdump writes the HAR when it shuts down.
	_ = cmd.Process.Signal(os.Interrupt)
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(20 * time.Second):
		t.Fatalf("mitmdump did not stop: %s", errb.String())
	}
	raw, err := os.ReadFile(har)
	if err != nil {
		t.Fatalf("no HAR: %v (%s)", err, errb.String())
	}
	t.Logf("mitmproxy wrote %d bytes of HAR", len(raw))
	a, _ := New(Config{})
	if err := a.ReadFile(t.Context(), har); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	js, _ := json.MarshalIndent(rep, "", "  ")
	t.Logf("report:\n%s", js)
	if rep.Files[0].Format != "har" || rep.Files[0].Entries != 2 {
		t.Fatalf("files %+v", rep.Files)
	}
	_, apiPort, _ := net.SplitHostPort(api.Listener.Addr().String())
	_, tlsPort, _ := net.SplitHostPort(secure.Listener.Addr().String())
	var clear, tls Backend
	for _, b := range rep.Backends {
		switch strconv.Itoa(b.Port) {
		case apiPort:
			clear = b
		case tlsPort:
			tls = b
		}
	}
	if !clear.Cleartext || !slices.Contains(sensitive(clear), "email") || !slices.Contains(clear.URLs, "http://127.0.0.1:"+apiPort+"/v1/profile") {
		t.Errorf("clear-text back end: %+v", clear)
	}
	if tls.Cleartext || !tls.TLS || len(tls.Classes) > 0 {
		t.Errorf("TLS back end: %+v", tls)
	}
	if len(rep.Credentials) != 1 || rep.Credentials[0].Kind != "http-basic" || rep.Credentials[0].User != "shopper" {
		t.Errorf("credentials %+v", rep.Credentials)
	}
	if strings.Contains(string(js), "s3cret-Basic-pw") || strings.Contains(string(js), "amelia.hartmann@mail") {
		t.Error("report holds a secret or personal datum")
	}
}
