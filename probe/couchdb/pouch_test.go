package couchdb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pouchVersion is the PouchDB Server release the real-server test runs.
const pouchVersion = "4.2.0"

// skipOrFail skips on a developer's machine but fails in CI, where a skip
// would hide that the real-server test never ran.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+" (set CI=true to fail instead)", args...)
}

// pouchBin installs pouchdb-server into the user cache (outside the
// repository, so node_modules is never committed) once, and returns the path
// of its start script. --ignore-scripts: no install script downloads
// anything; leveldown's bundled linux-x64 prebuild is used as shipped.
func pouchBin(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "%s not found: %v", tool, err)
		}
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		skipOrFail(t, "no cache dir: %v", err)
	}
	dir := filepath.Join(cache, "gown-testbed", "pouchdb")
	bin := filepath.Join(dir, "node_modules", "pouchdb-server", "bin", "pouchdb-server")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		skipOrFail(t, "cache dir: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "npm", "install", "--ignore-scripts", "--no-audit", "--no-fund",
		"--prefix", dir, "pouchdb-server@"+pouchVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		skipOrFail(t, "npm install pouchdb-server@%s: %v\n%s", pouchVersion, err, tail(out))
	}
	t.Logf("installed pouchdb-server@%s in %s (%s)", pouchVersion, dir, time.Since(start).Round(time.Second))
	return bin
}

// pouch is one pouchdb-server process the test started and alone stops.
type pouch struct {
	t       *testing.T
	port    int
	dir     string
	logPath string // express-pouchdb's CouchDB-style log: one line per request
	cmd     *exec.Cmd
	done    chan struct{}
	admin   string // the admin password once set; "" in admin party
}

// startPouch runs pouchdb-server on a free loopback port with a LevelDB
// data folder (so databases report disk_size) and a config file of its own.
func startPouch(t *testing.T) *pouch {
	t.Helper()
	bin := pouchBin(t)
	dir := t.TempDir()
	p := &pouch{t: t, dir: dir, logPath: filepath.Join(dir, "log.txt"), done: make(chan struct{})}
	cfg := fmt.Sprintf(`{"log": {"file": %q, "level": "info"}}`, p.logPath)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	out, err := os.Create(filepath.Join(dir, "stdout.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// -n: no copy of the log on stdout; the log file is the record.
	p.cmd = exec.Command("node", bin, "--host", "127.0.0.1", "--port", strconv.Itoa(p.port),
		"--dir", filepath.Join(dir, "db"), "--config", filepath.Join(dir, "config.json"), "-n", "--no-color")
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = out, out
	// Own process group, so stop signals exactly this server; SIGKILL when
	// the starting thread dies, so a killed test leaves nothing behind.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig follows the forking thread: keep it alive in Wait.
		runtime.LockOSThread()
		defer out.Close()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		skipOrFail(t, "start pouchdb-server: %v", err)
	}
	t.Cleanup(p.stop)
	p.waitReady()
	return p
}

func (p *pouch) waitReady() {
	start := time.Now()
	for time.Since(start) < 30*time.Second {
		select {
		case <-p.done:
			p.t.Fatalf("pouchdb-server exited:\n%s", p.output())
		default:
		}
		if code, _ := p.call("GET", "/", ""); code == http.StatusOK {
			p.t.Logf("pouchdb-server %s ready on 127.0.0.1:%d in %s", pouchVersion, p.port, time.Since(start).Round(time.Millisecond))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("pouchdb-server not ready after 30s:\n%s", p.output())
}

// stop ends the server's process group: SIGTERM, then SIGKILL.
func (p *pouch) stop() {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *pouch) output() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "stdout.txt"))
	return tail(b)
}

// call is the test bed's own request (it may write; gown never does). Once
// an admin exists every request carries the admin's credentials: an
// unauthenticated PUT then crashes pouchdb-server 4.2.0.
func (p *pouch) call(method, path, body string) (int, []byte) {
	req, err := http.NewRequest(method, "http://127.0.0.1:"+strconv.Itoa(p.port)+path, strings.NewReader(body))
	if err != nil {
		p.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if p.admin != "" {
		req.SetBasicAuth("admin", p.admin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b
}

// must is call that fails the test unless the status is 2xx.
func (p *pouch) must(method, path, body string) []byte {
	p.t.Helper()
	code, b := p.call(method, path, body)
	if code < 200 || code > 299 {
		p.t.Fatalf("test bed %s %s: HTTP %d %s\n%s", method, path, code, b, p.output())
	}
	return b
}

// plant creates a database holding n documents with one bulk request.
func (p *pouch) plant(db string, n int) {
	p.must("PUT", "/"+db, "")
	docs := make([]map[string]any, n)
	for i := range docs {
		docs[i] = map[string]any{"_id": fmt.Sprintf("%s-%04d", db, i), "n": i}
	}
	b, _ := json.Marshal(map[string]any{"docs": docs})
	p.must("POST", "/"+db+"/_bulk_docs", string(b))
}

// setAdmin ends the admin party. It is the last unauthenticated write.
func (p *pouch) setAdmin(password string) {
	p.must("PUT", "/_config/admins/admin", strconv.Quote(password))
	p.admin = password
}

// secure gives a database _security members, so only they may read it.
func (p *pouch) secure(db string) {
	p.must("PUT", "/"+db+"/_security", `{"admins":{"names":[],"roles":[]},"members":{"names":["bob"],"roles":[]}}`)
}

// diskSize is what the server reports as a database's disk_size.
func (p *pouch) diskSize(db string) uint64 {
	var info struct {
		DiskSize uint64 `json:"disk_size"`
	}
	if err := json.Unmarshal(p.must("GET", "/"+db, ""), &info); err != nil {
		p.t.Fatal(err)
	}
	return info.DiskSize
}

// logEntry is one request line of express-pouchdb's log:
// "[date] [info] [<0.000.0>] 127.0.0.2 - - GET /_all_dbs 200".
type logEntry struct {
	ip, method, path string
	status           int
}

// requests parses the request lines of the server's log file.
func (p *pouch) requests() []logEntry {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		p.t.Fatalf("server log: %v", err)
	}
	var out []logEntry
	for _, line := range bytes.Split(b, []byte("\n")) {
		_, rest, ok := bytes.Cut(line, []byte("] [<0.000.0>] "))
		f := strings.Fields(string(rest))
		if !ok || len(f) != 6 || f[1] != "-" || f[2] != "-" {
			continue
		}
		status, _ := strconv.Atoi(f[5])
		out = append(out, logEntry{ip: strings.TrimPrefix(f[0], "::ffff:"), method: f[3], path: f[4], status: status})
	}
	return out
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
