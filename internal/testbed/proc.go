package testbed

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// errExited says the server process ended before it was ready, which on a
// busy machine usually means another process took the port between our
// probe and the server's bind: the caller retries on a fresh port.
var errExited = errors.New("server exited before it was ready")

// stopGrace is how long a server gets to exit on SIGTERM before SIGKILL.
const stopGrace = 3 * time.Second

// readyTimeout bounds the wait for a started server to accept connections.
const readyTimeout = 20 * time.Second

// proc is one server process the test bed started and alone may stop.
type proc struct {
	cmd      *exec.Cmd
	logPath  string
	logStart int64         // size of logPath when this process started
	done     chan struct{} // closed once Wait has returned
	waitErr  error         // Wait's result, valid after done
}

// startProc starts bin with its output in logPath, in its own process group
// so Stop can kill exactly what it started, and with SIGKILL as the
// parent-death signal so a crashed or killed test binary leaves no server
// behind. env is added to this process's environment. cred, when set, runs
// the process as another user; Go sets the death signal after switching
// credentials, so the switch does not clear it (a server that drops
// privileges itself, like mariadbd --user or memcached -u, would).
func startProc(bin string, args, env []string, logPath string, cred *syscall.Credential) (*proc, error) {
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testbed: server log: %w", err)
	}
	// Not CommandContext: the server must outlive the startup ctx and die
	// only in Stop.
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	// The server's own folder, not ours: a server running as another user
	// (postgres) may fail to resolve a working folder it cannot read.
	cmd.Dir = filepath.Dir(logPath)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: cred,
	}
	p := &proc{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	// A retry appends to the same log: readiness proofs read only this
	// attempt's part.
	if st, err := out.Stat(); err == nil {
		p.logStart = st.Size()
	}
	started := make(chan error, 1)
	go func() {
		// The death signal fires when the forking *thread* exits, not the
		// process. Locking this goroutine to its thread and keeping it in
		// Wait keeps that thread alive exactly as long as the server.
		// Unlocking once the server is gone returns the thread to the
		// runtime: a locked goroutine that ends takes its thread down, and
		// with it, by the same death signal, any child another goroutine
		// forked on that thread before the lock (an initdb, an npm).
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer out.Close()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("testbed: start %s: %w", filepath.Base(bin), err)
	}
	return p, nil
}

// pid is the server's process id (and process group id).
func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process group with SIGTERM, then SIGKILL after stopGrace,
// and waits until the process is reaped. Only our own group is signalled.
func (p *proc) stop() error {
	if p == nil || p.exited() {
		return nil
	}
	pgid := p.pid()
	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("testbed: SIGTERM to group %d: %w", pgid, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("testbed: SIGKILL to group %d: %w", pgid, err)
	}
	<-p.done
	return nil
}

// logTail returns the end of the server's own output, to explain failures.
func (p *proc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	var t tailBuffer
	t.Write(b)
	return t.String()
}

// freePort finds a port on ip that nothing listens on now. The listener is
// closed before the server binds, so another process may take the port in
// between; callers detect that (errExited) and retry.
func freePort(ip netip.Addr) (netip.AddrPort, error) {
	l, err := net.Listen("tcp", netip.AddrPortFrom(ip, 0).String())
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("testbed: free port on %s: %w", ip, err)
	}
	ap := l.Addr().(*net.TCPAddr).AddrPort()
	l.Close()
	return netip.AddrPortFrom(ip, ap.Port()), nil
}

// waitReady waits until owned proves the server holds addr, the kernel's
// socket table shows its process listening there, and addr accepts TCP. The
// proof matters: between freePort and the server's bind another process may
// take the port, and a connect alone would then succeed to the wrong server
// while ours exits. A server's own sign alone has failed that way too:
// firebase-server logs "Listening" before node's bind has failed.
func waitReady(ctx context.Context, p *proc, addr netip.AddrPort, timeout time.Duration, owned func(context.Context) bool) error {
	if timeout == 0 {
		timeout = readyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var d net.Dialer
	for {
		if p.exited() {
			return fmt.Errorf("%w (%v): %s", errExited, p.waitErr, p.logTail())
		}
		if owned(ctx) && ready(ctx, &d, "tcp", addr.String()) && holdsListener(p.pid(), addr) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("testbed: waiting for %s: %w: %s", addr, ctx.Err(), p.logTail())
		case <-tick.C:
		}
	}
}

// socketOwned is the proof for servers that bind TCP before their unix
// socket and exit if the TCP bind fails (redis-server, mariadbd, postgres):
// a socket in our own folder that accepts shows the TCP port is ours. The
// socket file appears at bind, before listen: only a connect shows the
// server is accepting.
func socketOwned(sock string) func(context.Context) bool {
	return func(ctx context.Context) bool {
		var d net.Dialer
		return ready(ctx, &d, "unix", sock)
	}
}

// ready reports whether a connect to addr succeeds.
func ready(ctx context.Context, d *net.Dialer, network, addr string) bool {
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// logSays reports whether the server's output since p started contains
// text.
func logSays(p *proc, text string) bool {
	b, err := os.ReadFile(p.logPath)
	return err == nil && int64(len(b)) > p.logStart && strings.Contains(string(b[p.logStart:]), text)
}

// launch starts a server on a fresh port of ip, retrying when the port was
// lost to another process. args builds the command line for a port; the
// server must create the unix socket sock once it listens on TCP.
func launch(ctx context.Context, ip netip.Addr, sock, logPath, bin string, cred *syscall.Credential,
	args func(port uint16) []string) (*proc, netip.AddrPort, error) {
	return launchSpec{ip: ip, logPath: logPath, bin: bin, cred: cred, args: args,
		owned: func(*proc, netip.AddrPort) func(context.Context) bool { return socketOwned(sock) }}.run(ctx)
}

// launchSpec is how to start one server for launch's general form.
type launchSpec struct {
	ip      netip.Addr
	logPath string
	bin     string
	cred    *syscall.Credential
	env     []string // added to the environment
	// envFor, when set, adds to the environment what depends on the port.
	envFor  func(port uint16) []string
	args    func(port uint16) []string
	timeout time.Duration // for the server to get ready; readyTimeout when 0
	// owned returns the proof that process p, not another, listens on
	// addr (see waitReady).
	owned func(p *proc, addr netip.AddrPort) func(context.Context) bool
}

// run starts the server on a fresh port, retrying when the port was lost.
func (l launchSpec) run(ctx context.Context) (*proc, netip.AddrPort, error) {
	var last error
	for attempt := 0; attempt < 4; attempt++ {
		addr, err := freePort(l.ip)
		if err != nil {
			return nil, addr, err
		}
		env := l.env
		if l.envFor != nil {
			env = append(slices.Clone(env), l.envFor(addr.Port())...)
		}
		p, err := startProc(l.bin, l.args(addr.Port()), env, l.logPath, l.cred)
		if err != nil {
			return nil, addr, err
		}
		err = waitReady(ctx, p, addr, l.timeout, l.owned(p, addr))
		if err == nil {
			return p, addr, nil
		}
		p.stop()
		if !errors.Is(err, errExited) {
			return nil, addr, err
		}
		last = err
	}
	return nil, netip.AddrPort{}, fmt.Errorf("testbed: %s would not start: %w", filepath.Base(l.bin), last)
}

// tempDir makes a folder for one server. Its mode is 0755 because mariadbd
// runs as user mysql and must traverse it; if an ancestor of os.TempDir is
// closed to other users (TMPDIR=/root/tmp), it falls back to /tmp rather
// than loosening folders the test bed does not own.
func tempDir(name string) (string, error) {
	d, err := os.MkdirTemp("", "gown-testbed-"+name+"-")
	if err != nil {
		return "", fmt.Errorf("testbed: temp dir: %w", err)
	}
	if !searchable(filepath.Dir(d)) {
		os.Remove(d)
		if d, err = os.MkdirTemp("/tmp", "gown-testbed-"+name+"-"); err != nil {
			return "", fmt.Errorf("testbed: temp dir: %w", err)
		}
	}
	if err := os.Chmod(d, 0o755); err != nil {
		os.RemoveAll(d)
		return "", fmt.Errorf("testbed: temp dir: %w", err)
	}
	return d, nil
}

// searchable reports whether every folder from dir up to / lets other users
// through.
func searchable(dir string) bool {
	for {
		st, err := os.Stat(dir)
		if err != nil || st.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// secret returns a random password; hex so it needs no quoting in SQL, RESP
// or a command line.
func secret() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}
