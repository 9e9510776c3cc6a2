package elasticsearch

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// This file is the test bed for the real-node tests: it builds the Java
// launcher of internal/testbed/opensearch (once, cached in its target/),
// starts an embedded node on a free loopback port, plants data over HTTP
// (the test bed writes; gown never does), puts nginx with basic auth in
// front, and stops exactly the processes it started.

// testbedOpaqueID marks the test bed's own requests in the node's HTTP trace,
// so the read-only proof can tell them from gown's.
const testbedOpaqueID = "gown-testbed"

// planted is the ground truth: documents per index.
var planted = map[string]int{"customers": 120, "orders": 300, "read_me": 1}

// flavour is one server the launcher can run.
type flavour struct {
	name    string // "opensearch-2.19.6"
	dir     string // Maven project, relative to this package
	main    string // launcher class
	product string
	version string
}

var (
	openSearch = flavour{"opensearch-2.19.6", "../../internal/testbed/opensearch", "org.gownscan.testbed.Node", "OpenSearch", "2.19.6"}
	es7        = flavour{"elasticsearch-7.10.2", "../../internal/testbed/opensearch/es7", "org.gownscan.testbed.es7.Node", "Elasticsearch", "7.10.2"}
)

// node is one running server with its HTTP trace.
type node struct {
	addr netip.AddrPort
	cmd  *exec.Cmd
	done chan struct{}
	dir  string
	mu   sync.Mutex
	out  bytes.Buffer // stdout+stderr: logs and one trace line per request
}

func (n *node) Write(p []byte) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.out.Write(p)
}

func (n *node) log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.out.String()
}

// started holds each flavour's node (or why it could not run), shared by
// every test in the binary: a node takes 10-40 s to start.
var (
	startMu sync.Mutex
	started = map[string]*startResult{}
	cleanup []func()
)

type startResult struct {
	n   *node
	err error
}

// TestMain stops every server the tests started, even when a test failed.
func TestMain(m *testing.M) {
	code := m.Run()
	startMu.Lock()
	for i := len(cleanup) - 1; i >= 0; i-- {
		cleanup[i]()
	}
	startMu.Unlock()
	os.Exit(code)
}

// unavailable skips a real-server test, or fails it in CI, where a missing
// server means a broken setup rather than a developer's bare machine.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// requireNode returns the running node of a flavour, starting it once.
func requireNode(t *testing.T, f flavour) *node {
	t.Helper()
	for _, bin := range []string{"java", "mvn"} {
		if _, err := exec.LookPath(bin); err != nil {
			unavailable(t, "%s not installed: %v", bin, err)
		}
	}
	startMu.Lock()
	defer startMu.Unlock()
	res, ok := started[f.name]
	if !ok {
		res = &startResult{}
		started[f.name] = res
		if res.err = build(t, f); res.err == nil {
			res.n, res.err = startNode(t, f)
		}
		if res.n != nil {
			n := res.n
			cleanup = append(cleanup, func() { stopGroup(n.cmd, n.done); os.RemoveAll(n.dir) })
			if res.err == nil {
				res.err = plant(n.addr)
			}
		}
	}
	if res.err != nil {
		unavailable(t, "%s test bed: %v", f.name, res.err)
	}
	return res.n
}

// build compiles the launcher unless target/ is newer than its sources. It
// builds offline, from the local Maven repository; online only in CI or when
// GOWN_TESTBED_ONLINE=1, since the first download takes minutes.
func build(t *testing.T, f flavour) error {
	classes := filepath.Join(f.dir, "target", "classes")
	lib := filepath.Join(f.dir, "target", "lib")
	if fresh(f.dir, classes, lib) {
		return nil
	}
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "mvn", "-B", "-q", "-o", "package")
	cmd.Dir = f.dir
	out, err := cmd.CombinedOutput()
	if err != nil && (os.Getenv("CI") == "true" || os.Getenv("GOWN_TESTBED_ONLINE") == "1") {
		cmd := exec.CommandContext(ctx, "mvn", "-B", "-q", "package")
		cmd.Dir = f.dir
		out, err = cmd.CombinedOutput()
	}
	if err != nil {
		return fmt.Errorf("mvn package in %s (offline; run `mvn package` there once online): %v\n%s", f.dir, err, tail(out))
	}
	os.WriteFile(stamp(f.dir), nil, 0o644)
	t.Logf("%s launcher built in %s", f.name, time.Since(start).Round(time.Second))
	return nil
}

// stamp is touched after each build the tests made.
func stamp(dir string) string { return filepath.Join(dir, "target", ".gown-built") }

// fresh reports whether the built classes and libraries are newer than the
// pom and every source file.
func fresh(dir, classes, lib string) bool {
	built, err := os.Stat(stamp(dir))
	if err != nil {
		return false
	}
	if _, err := os.Stat(lib); err != nil {
		return false
	}
	newest := time.Time{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != dir && (d.Name() == "target" || d.Name() == "es7") {
			return filepath.SkipDir
		}
		if info, err := d.Info(); err == nil && info.ModTime().After(newest) {
			newest = info.ModTime()
		}
		return nil
	})
	return built.ModTime().After(newest)
}

// startNode launches the flavour on a free loopback port, retrying on a
// fresh port when another process took it first.
func startNode(t *testing.T, f flavour) (*node, error) {
	var last error
	for range 3 {
		n, err := launchNode(t, f)
		if err == nil || n == nil || !errors.Is(err, errExitedEarly) {
			return n, err
		}
		stopGroup(n.cmd, n.done)
		os.RemoveAll(n.dir)
		last = err
	}
	return nil, last
}

var errExitedEarly = errors.New("server exited before it was ready")

func launchNode(t *testing.T, f flavour) (*node, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gown-"+f.name+"-")
	if err != nil {
		return nil, err
	}
	n := &node{addr: addr, dir: dir, done: make(chan struct{})}
	cp := filepath.Join(f.dir, "target", "classes") + string(os.PathListSeparator) + filepath.Join(f.dir, "target", "lib", "*")
	n.cmd = exec.Command("java", "-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-cp", cp, f.main,
		fmt.Sprint(addr.Port()), dir)
	n.cmd.Stdout, n.cmd.Stderr = n, n
	// Own process group, so stopGroup signals exactly this node; SIGKILL if
	// the test binary dies first.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := startLocked(n.cmd, n.done); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start java: %w", err)
	}
	deadline := time.After(3 * time.Minute)
	for !strings.Contains(n.log(), "GOWN-TESTBED READY") {
		select {
		case <-n.done:
			return n, fmt.Errorf("%w: %s", errExitedEarly, tail([]byte(n.log())))
		case <-deadline:
			return n, fmt.Errorf("not ready after 3 min: %s", tail([]byte(n.log())))
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Logf("%s ready on %s in %s", f.name, addr, time.Since(start).Round(100*time.Millisecond))
	return n, nil
}

// startLocked starts cmd from a goroutine locked to its OS thread that stays
// in Wait: the parent-death signal fires when the forking thread exits, so
// that thread must live exactly as long as the child.
func startLocked(cmd *exec.Cmd, done chan struct{}) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		cmd.Wait()
		close(done)
	}()
	return <-errc
}

// stopGroup ends the process group cmd leads: SIGTERM, then SIGKILL.
func stopGroup(cmd *exec.Cmd, done chan struct{}) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	pgid := cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-done:
		return
	case <-time.After(10 * time.Second):
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-done
}

func freePort() (netip.AddrPort, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).AddrPort(), nil
}

// plant writes the ground truth over HTTP: three indices with one shard and
// no replica (a single node cannot hold replicas), bulk documents, a refresh
// so the counts are visible. Each request carries the test bed's opaque id.
func plant(addr netip.AddrPort) error {
	base := "http://" + addr.String()
	do := func(method, path, ctype string, body []byte) error {
		req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("X-Opaque-Id", testbedOpaqueID)
		req.Header.Set("Content-Type", ctype)
		resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		if resp.StatusCode >= 300 || bytes.Contains(b, []byte(`"errors":true`)) {
			return fmt.Errorf("plant %s %s: %d %s", method, path, resp.StatusCode, tail(b))
		}
		return nil
	}
	var bulk bytes.Buffer
	for _, idx := range []string{"customers", "orders", "read_me"} {
		err := do("PUT", "/"+idx, "application/json", []byte(`{"settings":{"number_of_shards":1,"number_of_replicas":0}}`))
		if err != nil {
			return err
		}
		for i := range planted[idx] {
			fmt.Fprintf(&bulk, `{"index":{"_index":%q,"_id":"%d"}}`+"\n", idx, i)
			doc := map[string]any{"name": fmt.Sprintf("user%d", i), "email": fmt.Sprintf("u%d@example.com", i), "total": i * 3}
			if idx == "read_me" {
				doc = map[string]any{"message": "All your data is backed up. Pay 0.01 BTC to recover it.", "email": "recover@example.org"}
			}
			line, _ := json.Marshal(doc)
			bulk.Write(append(line, '\n'))
		}
	}
	if err := do("POST", "/_bulk", "application/x-ndjson", bulk.Bytes()); err != nil {
		return err
	}
	return do("POST", "/_refresh", "application/json", nil)
}

// tail keeps the end of a log for an error message.
func tail(b []byte) string {
	const keep = 2000
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return string(b)
}

// traceLine matches the HTTP tracer's request lines:
// [id][opaque-id][METHOD][uri] received request from [...]
var traceLine = regexp.MustCompile(`\]\[([^\]]*)\]\[([A-Z]+)\]\[([^\]]*)\] received request from`)

// gownRequests lists "METHOD uri" for every traced request not marked as
// the test bed's own.
func (n *node) gownRequests() []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(n.log()))
	for sc.Scan() {
		m := traceLine.FindStringSubmatch(sc.Text())
		if m != nil && m[1] != testbedOpaqueID {
			out = append(out, m[2]+" "+m[3])
		}
	}
	return out
}
