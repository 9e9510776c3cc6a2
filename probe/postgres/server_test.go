package postgres

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pgBinDir is where Debian puts PostgreSQL 15's server binaries.
const pgBinDir = "/usr/lib/postgresql/15/bin"

// pgServer is one PostgreSQL cluster this test started and alone stops.
type pgServer struct {
	t    *testing.T
	dir  string // socket folder; holds data/ and the log
	data string
	log  string
	port int
	cmd  *exec.Cmd
	// asPostgres runs a server binary as user postgres: initdb and postgres
	// refuse to run as root.
	asPostgres func(bin string, args ...string) *exec.Cmd
	uid, gid   int
	super      string // the bootstrap superuser initdb made; the test administers as it
}

// needPostgres skips without the server binaries, except in CI, where a
// missing server is a broken test bed and must fail.
func needPostgres(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBinDir, "postgres")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL 15 server binaries missing in CI: %v", err)
		}
		t.Skipf("PostgreSQL 15 server binaries missing (apt-get install postgresql): %v", err)
	}
}

// newPGServer runs initdb --auth=trust in a fresh folder under /tmp (not
// t.TempDir: its parents are closed to user postgres).
func newPGServer(t *testing.T) *pgServer {
	t.Helper()
	return newPGServerAs(t, "postgres")
}

// newPGServerAs is newPGServer with super as the bootstrap superuser, so
// that role postgres can be a plain role the test creates.
func newPGServerAs(t *testing.T, super string) *pgServer {
	t.Helper()
	s := &pgServer{t: t, uid: -1, gid: -1, super: super}
	s.asPostgres = func(bin string, args ...string) *exec.Cmd {
		return exec.Command(filepath.Join(pgBinDir, bin), args...)
	}
	if os.Geteuid() == 0 {
		u, err := osuser.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs user postgres: %v", err)
		}
		s.uid, _ = strconv.Atoi(u.Uid)
		s.gid, _ = strconv.Atoi(u.Gid)
		s.asPostgres = func(bin string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pgBinDir, bin)}, args...)...)
		}
	}
	dir, err := os.MkdirTemp("/tmp", "gown-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s.dir, s.data, s.log = dir, filepath.Join(dir, "data"), filepath.Join(dir, "server.log")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.chown(dir)
	s.run("initdb", "-D", s.data, "--auth=trust", "-U", super, "--no-sync", "--no-instructions")
	return s
}

func (s *pgServer) chown(path string) {
	if s.uid >= 0 {
		if err := os.Chown(path, s.uid, s.gid); err != nil {
			s.t.Fatal(err)
		}
	}
}

func (s *pgServer) run(bin string, args ...string) string {
	s.t.Helper()
	out, err := s.asPostgres(bin, args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// writeFile writes a file the server reads, owned by postgres.
func (s *pgServer) writeFile(name, content string, mode os.FileMode) {
	s.t.Helper()
	p := filepath.Join(s.data, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		s.t.Fatal(err)
	}
	s.chown(p)
}

// hba replaces pg_hba.conf. The local (socket) line stays trust: the test
// plants data and reloads over it.
func (s *pgServer) hba(hostLines string) {
	s.writeFile("pg_hba.conf", "local all all trust\n"+hostLines+"\n", 0o600)
}

// start runs the server on a free loopback port, retrying when another
// process takes the port between the probe and the bind.
func (s *pgServer) start() {
	s.t.Helper()
	var last error
	for range 4 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.t.Fatal(err)
		}
		s.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		if last = s.startOn(); last == nil {
			return
		}
	}
	s.t.Fatalf("postgres would not start: %v", last)
}

func (s *pgServer) startOn() error {
	out, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := s.asPostgres("postgres", "-D", s.data, "-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "logging_collector=off",
		"-c", "log_statement=all", "-c", "log_connections=on",
		"-c", "log_line_prefix=%m [%p] app=%a db=%d ", "-c", "fsync=off",
		"-c", "shared_buffers=16MB", "-c", "max_connections=20")
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so cleanup signals exactly what this test
	// started; SIGKILL if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) // fast shutdown
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	sock := filepath.Join(s.dir, fmt.Sprintf(".s.PGSQL.%d", s.port))
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		select {
		case <-done:
			return fmt.Errorf("exited: %s", s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		// The socket in our own folder proves the TCP port is ours too:
		// postgres binds TCP first and exits if that fails.
		if _, err := os.Stat(sock); err != nil {
			continue
		}
		// A port that accepts is not a server that serves: until recovery
		// ends it answers "the database system is starting up" (seen on a
		// loaded machine), so the log's ready line decides.
		if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)), time.Second); err == nil {
			c.Close()
			if !strings.Contains(s.logTail(), "ready to accept connections") {
				continue
			}
			s.cmd = cmd
			s.t.Cleanup(stop)
			return nil
		}
	}
	stop()
	return errors.New("not ready in 20 s: " + s.logTail())
}

func (s *pgServer) logTail() string {
	b, _ := os.ReadFile(s.log)
	return string(b[max(0, len(b)-2000):])
}

// psql runs admin SQL over the unix socket (never over TCP, where gown is
// being tested) and returns the unaligned output.
func (s *pgServer) psql(db, sql string) string {
	s.t.Helper()
	return strings.TrimSpace(s.run("psql", "-h", s.dir, "-p", strconv.Itoa(s.port), "-U", s.super,
		"-d", db, "-v", "ON_ERROR_STOP=1", "-qAtc", sql))
}

// reload makes the server reread its configuration and pg_hba.conf.
func (s *pgServer) reload() {
	s.t.Helper()
	if got := s.psql("postgres", "SELECT pg_reload_conf()"); got != "t" {
		s.t.Fatalf("pg_reload_conf = %q", got)
	}
}

// gownStatements returns every statement the log shows from sessions with
// application_name gown, and the log lines of errors in those sessions.
func (s *pgServer) gownStatements() (stmts, errs []string) {
	f, err := os.Open(s.log)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, " app=gown ") {
			continue
		}
		if _, stmt, ok := strings.Cut(line, "LOG:  statement: "); ok {
			stmts = append(stmts, stmt)
		}
		if strings.Contains(line, "ERROR:") {
			errs = append(errs, line)
		}
	}
	return stmts, errs
}
