package postgres_test

import (
	"context"
	"database/sql"
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

// The test bed has no PostgreSQL configuration yet; until it does, this
// starts a trust-auth cluster on a free loopback port, as
// probe/postgres/server_test.go does.

const pgBinDir = "/usr/lib/postgresql/15/bin"

// pgServer is one cluster this test binary started and alone stops.
type pgServer struct {
	dir  string
	port int
	stop func()
}

// startPG runs initdb --auth=trust and postgres; it skips without the server
// binaries, except in CI where that must fail.
func startPG() (*pgServer, error) {
	if _, err := os.Stat(filepath.Join(pgBinDir, "postgres")); err != nil {
		return nil, fmt.Errorf("PostgreSQL 15 server binaries missing (apt-get install postgresql): %w", err)
	}
	asPG := func(bin string, args ...string) *exec.Cmd {
		return exec.Command(filepath.Join(pgBinDir, bin), args...)
	}
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := osuser.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs user postgres: %w", err)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		asPG = func(bin string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pgBinDir, bin)}, args...)...)
		}
	}
	// Not t.TempDir: its parents are closed to user postgres.
	dir, err := os.MkdirTemp("/tmp", "gown-store-pg-")
	if err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o755)
	if uid >= 0 {
		os.Chown(dir, uid, gid)
	}
	data := filepath.Join(dir, "data")
	if out, err := asPG("initdb", "-D", data, "--auth=trust", "-U", "postgres", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	s := &pgServer{dir: dir}
	var last error
	for range 4 {
		if last = s.startOn(asPG, data); last == nil {
			return s, nil
		}
	}
	os.RemoveAll(dir)
	return nil, last
}

func (s *pgServer) startOn(asPG func(string, ...string) *exec.Cmd, data string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	logPath := filepath.Join(s.dir, "server.log")
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := asPG("postgres", "-D", data, "-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=60")
	cmd.Stdout, cmd.Stderr = out, out
	// Own process group so cleanup signals exactly this server; SIGKILL if
	// the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.stop = func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		os.RemoveAll(s.dir)
	}
	// The socket in our own folder proves the TCP port is ours too.
	sock := filepath.Join(s.dir, fmt.Sprintf(".s.PGSQL.%d", s.port))
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		select {
		case <-done:
			b, _ := os.ReadFile(logPath)
			return errors.New("postgres exited: " + string(b[max(0, len(b)-1000):]))
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := os.Stat(sock); err == nil && s.accepts() {
			return nil
		}
	}
	s.stop()
	return errors.New("postgres not ready in 20 s")
}

// accepts reports whether the server takes queries yet: the socket appears
// while it still answers "the database system is starting up".
func (s *pgServer) accepts() bool {
	db, err := sql.Open("pgx", s.url("postgres"))
	if err != nil {
		return false
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return db.PingContext(ctx) == nil
}

// url names one database on the server.
func (s *pgServer) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// skipOrFail skips on a developer's machine and fails in CI.
func skipOrFail(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("postgres: %v", err)
	}
	tb.Skipf("postgres unavailable (set CI=true to fail instead): %v", strings.TrimSpace(err.Error()))
}
