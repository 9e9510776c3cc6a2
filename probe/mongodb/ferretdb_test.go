package mongodb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The helpers in this file build FerretDB, a real server of the MongoDB wire
// protocol (Apache-2.0), and run it on a free loopback port for the tests in
// real_test.go. Nothing of FerretDB lives in this repository: the version and
// its checksums are pinned by the separate tools module in
// internal/testbed/ferretdb, and the source comes from the module cache.

// toolsModule is the tools module that pins FerretDB, relative to this
// package's folder (where go test runs).
const toolsModule = "../../internal/testbed/ferretdb"

// ferretBin is built once per test binary.
var ferretBin struct {
	once sync.Once
	path string
	err  error
}

// requireFerretDB returns the path of a FerretDB binary, building it on
// first use into the user cache. It skips the test when the build cannot be
// done (no go tool, no module cache and no proxy), except in CI, where a
// skip would hide that the real-server tests never ran.
func requireFerretDB(t *testing.T) string {
	t.Helper()
	ferretBin.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
		defer cancel()
		began := time.Now()
		ferretBin.path, ferretBin.err = buildFerretDB(ctx)
		if ferretBin.err == nil {
			fmt.Fprintf(os.Stderr, "ferretdb: %s ready in %s\n", ferretBin.path, time.Since(began).Round(time.Millisecond))
		}
	})
	if ferretBin.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ferretdb: %v", ferretBin.err)
		}
		t.Skipf("ferretdb unavailable (set CI=true to fail instead): %v", ferretBin.err)
	}
	return ferretBin.path
}

// buildFerretDB builds cmd/ferretdb at the version the tools module pins.
// `go install .../cmd/ferretdb@v1.24.2` gives a binary that panics at start:
// the module lacks build/version/version.txt, which FerretDB's own
// build writes. So the module source is copied from the module cache into a
// temp folder, the file is written there, and the copy is built as its own
// main module. The binary is cached by version; the copy is removed.
func buildFerretDB(ctx context.Context) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	mod, err := downloadFerretDB(ctx, goBin)
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	bin := filepath.Join(cache, "gown-testbed", "ferretdb-"+mod.Version, "ferretdb")
	if out, err := exec.CommandContext(ctx, bin, "--version").Output(); err == nil && bytes.Contains(out, []byte(mod.Version)) {
		return bin, nil
	}
	src, err := os.MkdirTemp("", "gown-ferretdb-src-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(src)
	if err := os.CopyFS(src, os.DirFS(mod.Dir)); err != nil {
		return "", fmt.Errorf("copy module source: %w", err)
	}
	if err := os.WriteFile(filepath.Join(src, "build", "version", "version.txt"), []byte(mod.Version+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		return "", err
	}
	tmp := bin + ".tmp" + strconv.Itoa(os.Getpid())
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", tmp, "./cmd/ferretdb")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build ferretdb: %w\n%s", err, tail(out))
	}
	// Rename is atomic: a parallel test binary sees the old state or the new.
	return bin, os.Rename(tmp, bin)
}

// moduleInfo is what `go mod download -json` says of one module.
type moduleInfo struct {
	Version string
	Dir     string
	Error   string
}

// downloadFerretDB finds (or fetches, verified against the tools module's
// go.sum) the FerretDB module source in the module cache.
func downloadFerretDB(ctx context.Context, goBin string) (moduleInfo, error) {
	cmd := exec.CommandContext(ctx, goBin, "mod", "download", "-json", "github.com/FerretDB/FerretDB")
	cmd.Dir = toolsModule
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var m moduleInfo
	if jerr := json.Unmarshal(out, &m); jerr != nil || err != nil || m.Error != "" || m.Dir == "" {
		return m, fmt.Errorf("go mod download FerretDB: %v %s %s", err, m.Error, tail(stderr.Bytes()))
	}
	return m, nil
}

// ferret is one running FerretDB.
type ferret struct {
	addr    string // 127.0.0.1:port
	dir     string // data, state and log
	logPath string // JSON debug log: every request it received
	cmd     *exec.Cmd
	done    chan struct{}
}

// ferretOpts configures one start.
type ferretOpts struct {
	dir      string // reuse a data folder (restart with other options); "" for a new one
	password string // turns on authentication with user admin on appdb
	// tlsCert and tlsKey, when set, make the one listener a TLS listener.
	tlsCert, tlsKey string
}

// startFerretDB runs FerretDB with its SQLite backend on a free port of
// 127.0.0.1, telemetry and the debug HTTP listener off, logging every
// request at debug level, and stops it when the test ends.
func startFerretDB(t *testing.T, o ferretOpts) *ferret {
	t.Helper()
	bin := requireFerretDB(t)
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	for _, d := range []string{"data", "state"} {
		if err := os.MkdirAll(filepath.Join(o.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var last error
	for range 3 {
		f, err := launchFerretDB(t, bin, o)
		if err == nil {
			return f
		}
		last = err // most likely the free port was taken in between
	}
	t.Fatalf("ferretdb would not start: %v", last)
	return nil
}

// launchFerretDB makes one attempt at a start on a fresh port.
func launchFerretDB(t *testing.T, bin string, o ferretOpts) (*ferret, error) {
	port := freePort(t)
	f := &ferret{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), dir: o.dir, done: make(chan struct{})}
	f.logPath = filepath.Join(o.dir, fmt.Sprintf("ferretdb-%d.log", port))
	listen := []string{"--listen-addr=" + f.addr}
	if o.tlsCert != "" {
		listen = []string{"--listen-addr=", "--listen-tls=" + f.addr,
			"--listen-tls-cert-file=" + o.tlsCert, "--listen-tls-key-file=" + o.tlsKey}
	}
	args := []string{
		"--handler=sqlite",
		"--sqlite-url=file:" + filepath.Join(o.dir, "data") + "/",
		"--state-dir=" + filepath.Join(o.dir, "state"),
		"--telemetry=disable",
		"--debug-addr=-",
		"--log-level=debug",
		"--log-format=json",
	}
	args = append(args, listen...)
	if o.password != "" {
		args = append(args, "--test-enable-new-auth", "--setup-database=appdb",
			"--setup-username=admin", "--setup-password="+o.password)
	}
	if err := f.start(bin, args); err != nil {
		return nil, err
	}
	t.Cleanup(f.stop)
	if err := f.waitReady(t.Context()); err != nil {
		f.stop()
		return nil, err
	}
	return f, nil
}

// start runs the server in its own process group, so that stop signals
// exactly what the test started, with SIGKILL as its parent-death signal so
// that nothing outlives a crashed or killed test binary.
func (f *ferret) start(bin string, args []string) error {
	out, err := os.OpenFile(f.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	f.cmd = exec.Command(bin, args...)
	f.cmd.Stdout, f.cmd.Stderr = out, out
	f.cmd.Env = append(os.Environ(), "DO_NOT_TRACK=1")
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		// The death signal fires when the forking thread exits, not the
		// process: this goroutine keeps its thread, waiting, for as long as
		// the server lives.
		runtime.LockOSThread()
		defer out.Close()
		if err := f.cmd.Start(); err != nil {
			started <- err
			close(f.done)
			return
		}
		started <- nil
		f.cmd.Wait()
		close(f.done)
	}()
	return <-started
}

// waitReady waits until the server accepts connections.
func (f *ferret) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-f.done:
			return fmt.Errorf("ferretdb exited: %s", tail(f.log()))
		default:
		}
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", f.addr)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("ferretdb not listening on %s: %v: %s", f.addr, err, tail(f.log()))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the server's process group: SIGTERM, then SIGKILL after a grace
// period. Only the group this test started is signalled.
func (f *ferret) stop() {
	select {
	case <-f.done:
		return
	default:
	}
	pgid := f.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-f.done
	}
}

func (f *ferret) log() []byte {
	b, _ := os.ReadFile(f.logPath)
	return b
}

// freePort asks the kernel for a port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// tail is the end of a command's or server's output, to explain a failure.
func tail(b []byte) string {
	const n = 3000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}
