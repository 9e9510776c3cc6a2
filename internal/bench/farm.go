// Package bench measures gown against its peers (zgrab2, nmap) and against
// the raw TCP connect ceiling, on a loopback farm of real servers: Redis,
// MariaDB, PostgreSQL and memcached, open and password-protected, each
// listening on many distinct 127.x.y.z addresses at the store's default port,
// the way an internet-wide scan meets them. It is run by `make bench`
// (scripts/bench.sh), never by `make test`.
//
// The farm starts its own processes rather than the test bed's: those are
// fixed configurations on one address each, while a scan-like list wants
// hundreds of endpoints at the default ports. One process serves up to 16
// addresses (Redis's bind limit), so a few processes per store make a farm.
// It depends on nothing of the test bed, whose files change under other
// work; scripts/bench.sh installs the servers with apt-get.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gownscan/gown"
)

// Ports are the default ports of the four farmed stores, in a fixed order:
// every host of a target list is scanned on all of them.
var Ports = map[string]int{"redis": 6379, "mysql": 3306, "postgres": 5432, "memcached": 11211}

// ShiftPorts moves every farm port by offset before the farm starts, so
// that no prober claims them: a scan then has to detect each store (the
// unhinted-against-hinted table). Call it before StartFarm and WriteList.
func ShiftPorts(offset int) {
	for k := range Ports {
		Ports[k] += offset
	}
}

// Kinds lists the farmed stores in the order tables print them.
var Kinds = []string{"redis", "mysql", "postgres", "memcached"}

// Instance is one server process of the farm. It listens on every address of
// Addrs at its kind's default port.
type Instance struct {
	Kind   string // prober name: redis, mysql, postgres, memcached
	Config string // open or password
	Want   gown.Status
	Addrs  []netip.Addr
	Items  int // records planted (open instances only)

	dir      string
	sock     string
	password string
	cmd      *exec.Cmd
	done     chan struct{}
}

// Endpoint is one address:port the farm serves, with the verdict a correct
// scan gives.
type Endpoint struct {
	Addr netip.AddrPort
	Kind string
	Want gown.Status
}

// Farm is the set of running instances.
type Farm struct {
	Instances []*Instance
	stopOnce  sync.Once
}

// FarmSpec sizes the farm: for each kind and each configuration (open,
// password), Procs processes with AddrsPerProc addresses each.
type FarmSpec struct {
	Procs        int
	AddrsPerProc int
}

// FarmNet is where farm addresses live: 127.20.0.0/14 (20 redis, 21 mysql,
// 22 postgres, 23 memcached). Target lists keep their closed hosts out of it.
var FarmNet = netip.MustParsePrefix("127.20.0.0/14")

// addrFor is the j-th address of process p of configuration c of kind k.
func addrFor(k, c, p, j int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(20 + k), byte(c*32 + p), byte(j + 1)})
}

// Endpoints lists every address:port the farm serves.
func (f *Farm) Endpoints() []Endpoint {
	var out []Endpoint
	for _, in := range f.Instances {
		for _, a := range in.Addrs {
			out = append(out, Endpoint{Addr: netip.AddrPortFrom(a, uint16(Ports[in.Kind])), Kind: in.Kind, Want: in.Want})
		}
	}
	return out
}

// StartFarm installs what is missing and starts the farm. On error every
// process already started is stopped.
func StartFarm(ctx context.Context, log io.Writer, spec FarmSpec) (*Farm, error) {
	if spec.AddrsPerProc > 16 {
		return nil, errors.New("bench: Redis binds at most 16 addresses per process")
	}
	for _, bin := range []string{"redis-server", "memcached", "mariadbd", "mariadb-install-db", "mariadb", "initdb", "postgres", "psql"} {
		if _, err := lookBin(bin); err != nil {
			return nil, fmt.Errorf("%w (scripts/bench.sh installs the servers)", err)
		}
	}
	f := &Farm{}
	for k, kind := range Kinds {
		for c, cfg := range []string{"open", "password"} {
			for p := range spec.Procs {
				in := &Instance{Kind: kind, Config: cfg, Want: gown.StatusOpen}
				if cfg == "password" {
					in.Want = gown.StatusAuthRequired
				}
				for j := range spec.AddrsPerProc {
					in.Addrs = append(in.Addrs, addrFor(k, c, p, j))
				}
				f.Instances = append(f.Instances, in)
			}
		}
	}
	began := time.Now()
	errs := make([]error, len(f.Instances))
	var wg sync.WaitGroup
	for i, in := range f.Instances {
		wg.Go(func() {
			if err := in.start(ctx); err != nil {
				errs[i] = fmt.Errorf("bench: %s-%s on %s: %w", in.Kind, in.Config, in.Addrs[0], err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		f.Stop()
		return nil, err
	}
	fmt.Fprintf(log, "bench: farm of %d processes, %d endpoints ready in %s\n",
		len(f.Instances), len(f.Endpoints()), time.Since(began).Round(time.Millisecond))
	return f, nil
}

// Stop ends every process of the farm (its own process groups only) and
// removes their folders.
func (f *Farm) Stop() {
	f.stopOnce.Do(func() {
		var wg sync.WaitGroup
		for _, in := range f.Instances {
			wg.Go(in.stop)
		}
		wg.Wait()
	})
}

func (in *Instance) start(ctx context.Context) error {
	var err error
	if in.dir, err = os.MkdirTemp("", "gown-bench-"+in.Kind+"-"); err != nil {
		return err
	}
	os.Chmod(in.dir, 0o755) // servers running as their own user need to enter it
	if in.Want == gown.StatusAuthRequired {
		in.password = "bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	switch in.Kind {
	case "redis":
		err = in.startRedis(ctx)
	case "memcached":
		err = in.startMemcached(ctx)
	case "mysql":
		err = in.startMariaDB(ctx)
	case "postgres":
		err = in.startPostgres(ctx)
	}
	return err
}

func (in *Instance) addrList(sep string) string {
	s := make([]string, len(in.Addrs))
	for i, a := range in.Addrs {
		s[i] = a.String()
	}
	return strings.Join(s, sep)
}

// launch starts bin in its own process group, output to the instance's log,
// and waits until the first address accepts.
func (in *Instance) launch(ctx context.Context, bin string, args []string, cred *syscall.Credential) error {
	logf, err := os.Create(filepath.Join(in.dir, "server.log"))
	if err != nil {
		return err
	}
	in.cmd = exec.Command(bin, args...)
	in.cmd.Stdout, in.cmd.Stderr = logf, logf
	in.cmd.Dir = in.dir
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := in.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	in.done = make(chan struct{})
	go func() { in.cmd.Wait(); logf.Close(); close(in.done) }()
	addr := netip.AddrPortFrom(in.Addrs[len(in.Addrs)-1], uint16(Ports[in.Kind])).String()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		select {
		case <-in.done:
			b, _ := os.ReadFile(filepath.Join(in.dir, "server.log"))
			return fmt.Errorf("%s exited: %s", filepath.Base(bin), tail(b))
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if in.accepts(ctx, "tcp", addr) && (in.sock == "" || in.Kind == "postgres" || in.accepts(ctx, "unix", in.sock)) &&
			(in.Kind != "postgres" || in.logSays("ready to accept connections")) {
			return nil
		}
	}
}

// accepts reports whether a connect to addr succeeds.
func (in *Instance) accepts(ctx context.Context, network, addr string) bool {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// logSays reports whether the server's own log holds s.
func (in *Instance) logSays(s string) bool {
	b, _ := os.ReadFile(filepath.Join(in.dir, "server.log"))
	return strings.Contains(string(b), s)
}

func (in *Instance) stop() {
	if in.cmd != nil && in.cmd.Process != nil {
		pg := in.cmd.Process.Pid
		syscall.Kill(-pg, syscall.SIGTERM)
		select {
		case <-in.done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-pg, syscall.SIGKILL)
			<-in.done
		}
	}
	if in.dir != "" {
		os.RemoveAll(in.dir)
	}
}

func (in *Instance) startRedis(ctx context.Context) error {
	bin, err := lookBin("redis-server")
	if err != nil {
		return err
	}
	in.sock = filepath.Join(in.dir, "redis.sock")
	args := append([]string{"--port", strconv.Itoa(Ports["redis"]), "--bind"}, strings.Fields(in.addrList(" "))...)
	args = append(args, "--unixsocket", in.sock, "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
		"--dir", in.dir, "--daemonize", "no", "--protected-mode", "no", "--maxclients", "10000")
	if in.password != "" {
		args = append(args, "--requirepass", in.password)
	}
	if err := in.launch(ctx, bin, args, nil); err != nil {
		return err
	}
	return in.plantRedis(ctx)
}

func (in *Instance) startMemcached(ctx context.Context) error {
	bin, err := lookBin("memcached")
	if err != nil {
		return err
	}
	cred, err := userCred("memcache", "nobody")
	if err != nil {
		return err
	}
	args := []string{"-l", in.addrList(","), "-p", strconv.Itoa(Ports["memcached"]), "-U", "0", "-m", "16", "-t", "2", "-c", "8192"}
	if in.password != "" {
		auth := filepath.Join(in.dir, "auth")
		if err := os.WriteFile(auth, []byte("bench:"+in.password+"\n"), 0o644); err != nil {
			return err
		}
		args = append(args, "-Y", auth)
	}
	if err := in.launch(ctx, bin, args, cred); err != nil {
		return err
	}
	return in.plantMemcached(ctx)
}

func (in *Instance) startMariaDB(ctx context.Context) error {
	bin, err := lookBin("mariadbd")
	if err != nil {
		return err
	}
	install, err := lookBin("mariadb-install-db")
	if err != nil {
		return err
	}
	cred, err := userCred("mysql")
	if err != nil {
		return err
	}
	data, tmp := filepath.Join(in.dir, "data"), filepath.Join(in.dir, "tmp")
	for _, d := range []string{data, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
		if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, install, "--no-defaults", "--datadir="+data, "--tmpdir="+tmp,
		"--auth-root-authentication-method=normal", "--skip-test-db", "--user=mysql")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb-install-db: %w: %s", err, tail(out))
	}
	in.sock = filepath.Join(data, "mysqld.sock")
	args := []string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp,
		"--bind-address=" + in.addrList(","), "--port=" + strconv.Itoa(Ports["mysql"]), "--socket=" + in.sock,
		"--skip-log-bin", "--innodb-buffer-pool-size=16M", "--max-connect-errors=100000000",
		"--skip-name-resolve", "--max-connections=1000", "--performance-schema=off",
		"--innodb-buffer-pool-dump-at-shutdown=0", "--innodb-buffer-pool-load-at-startup=0"}
	if err := in.launch(ctx, bin, args, cred); err != nil {
		return err
	}
	return in.plantMariaDB(ctx)
}

func (in *Instance) startPostgres(ctx context.Context) error {
	bin, err := lookBin("postgres")
	if err != nil {
		return err
	}
	initdb, err := lookBin("initdb")
	if err != nil {
		return err
	}
	cred, err := userCred("postgres")
	if err != nil {
		return err
	}
	data := filepath.Join(in.dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	if err := os.Chown(data, int(cred.Uid), int(cred.Gid)); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, initdb, "-D", data, "--auth=trust", "-U", "postgres",
		"--no-sync", "--no-instructions", "--locale=C", "--encoding=UTF8")
	cmd.Dir = in.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, tail(out))
	}
	method := "trust"
	if in.password != "" {
		method = "scram-sha-256"
	}
	hba := "local all all trust\nhost all all 127.0.0.0/8 " + method + "\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return err
	}
	os.Chown(filepath.Join(data, "pg_hba.conf"), int(cred.Uid), int(cred.Gid))
	in.sock = data
	args := []string{"-D", data, "-k", data, "-p", strconv.Itoa(Ports["postgres"]),
		"-c", "listen_addresses=" + in.addrList(","), "-c", "max_connections=400",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB", "-c", "autovacuum=off", "-c", "logging_collector=off",
		"-c", "lc_messages=C"}
	if err := in.launch(ctx, bin, args, cred); err != nil {
		return err
	}
	return in.plantPostgres(ctx)
}

// userCred returns the credential of the first system user that exists, or
// nil when not running as root (the server then runs as the caller).
func userCred(names ...string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, n := range names {
		u, err := user.Lookup(n)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("no system user %v to run the server as", names)
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 600 {
		s = "…" + s[len(s)-600:]
	}
	return s
}

func sysCred(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}

// lookBin finds a server program: Debian's versioned PostgreSQL folders
// first (the newest), then PATH and the sbin folders.
func lookBin(name string) (string, error) {
	found, _ := filepath.Glob(filepath.Join("/usr/lib/postgresql/*/bin", name))
	slices.Sort(found)
	if len(found) > 0 {
		return found[len(found)-1], nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin"} {
		if p := filepath.Join(d, name); isExec(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("bench: %s is not installed", name)
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
