package testbed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// The services below are what gown runs on rather than what it scans: the
// NATS JetStream server its queue workers pull from, and a PostgreSQL
// cluster to be its shared results store. They start like the test bed's
// servers (own folder, free loopback port, own process group, dead with
// the test binary) but are not configurations: no data is planted and no
// truth is kept.

var natsPackage = pkg{"nats-server", []string{"nats-server"}}

// NATS is a nats-server with JetStream that the test bed started.
type NATS struct {
	Addr netip.AddrPort
	dir  string
	proc *proc
}

// URL is the server's nats:// URL.
func (n *NATS) URL() string { return "nats://" + n.Addr.String() }

// Pid is the server's process id.
func (n *NATS) Pid() int { return n.proc.pid() }

// StartNATS installs nats-server if missing (Debian's, as root) and starts
// it with JetStream on a free loopback port, its store in a folder of its
// own.
func StartNATS(ctx context.Context, log io.Writer) (*NATS, error) {
	if log == nil {
		log = io.Discard
	}
	if err := ensure(ctx, log, natsPackage); err != nil {
		return nil, err
	}
	dir, err := tempDir("nats")
	if err != nil {
		return nil, err
	}
	n := &NATS{dir: dir}
	bin, err := LookBin("nats-server")
	if err != nil {
		return nil, err
	}
	n.proc, n.Addr, err = launchSpec{ip: loopback, logPath: filepath.Join(dir, "server.log"), bin: bin,
		args:  func(port uint16) []string { return n.args(port) },
		owned: natsOwned}.run(ctx)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	fmt.Fprintf(log, "testbed: nats-server on %s (pid %d), JetStream store %s\n", n.Addr, n.proc.pid(), filepath.Join(dir, "js"))
	return n, nil
}

func (n *NATS) args(port uint16) []string {
	return []string{"-a", loopback.String(), "-p", strconv.Itoa(int(port)), "-js", "-sd", filepath.Join(n.dir, "js")}
}

// natsOwned proves the server on addr is ours: it logs its readiness once
// it listens, and waitReady checks the listening socket is its process's.
func natsOwned(p *proc, _ netip.AddrPort) func(context.Context) bool {
	return func(context.Context) bool { return logSays(p, "Server is ready") }
}

// Restart stops the server (SIGTERM, as an operator's restart does) and
// starts it again on the same port with the same JetStream store, so
// clients reconnect to it and find their streams.
func (n *NATS) Restart(ctx context.Context, down time.Duration) error {
	if err := n.proc.stop(); err != nil {
		return err
	}
	select {
	case <-time.After(down):
	case <-ctx.Done():
		return ctx.Err()
	}
	bin, err := LookBin("nats-server")
	if err != nil {
		return err
	}
	p, err := startProc(bin, n.args(n.Addr.Port()), nil, filepath.Join(n.dir, "server.log"), nil)
	if err != nil {
		return err
	}
	if err := waitReady(ctx, p, n.Addr, 0, natsOwned(p, n.Addr)); err != nil {
		p.stop()
		return err
	}
	n.proc = p
	return nil
}

// Stop ends the server and removes its folder.
func (n *NATS) Stop() error {
	err := n.proc.stop()
	return errors.Join(err, os.RemoveAll(n.dir))
}

// StoreDB is a PostgreSQL cluster for gown's results store: trust
// authentication on loopback, fsync off (a test's data need not survive
// a power cut), no statement log (a store under load would write more log
// than data).
type StoreDB struct {
	Addr netip.AddrPort
	dir  string
	proc *proc
}

// StartStoreDB runs initdb and postgres on a free loopback port.
func StartStoreDB(ctx context.Context, log io.Writer) (*StoreDB, error) {
	if log == nil {
		log = io.Discard
	}
	if err := ensure(ctx, log, postgresPackages[0]); err != nil {
		return nil, err
	}
	bin, err := LookBin("postgres")
	if err != nil {
		return nil, err
	}
	dir, err := tempDir("storedb")
	if err != nil {
		return nil, err
	}
	s := &StoreDB{dir: dir}
	data := filepath.Join(dir, "data")
	cred, err := initPostgres(ctx, data, "postgres")
	if err == nil {
		s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: filepath.Join(dir, "server.log"), bin: bin, cred: cred,
			args: func(port uint16) []string {
				return []string{"-p", strconv.Itoa(int(port)), "-D", data, "-k", data,
					"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_permissions=0700", "-c", "fsync=off",
					"-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200",
					"-c", "logging_collector=off", "-c", "lc_messages=C"}
			},
			owned: func(p *proc, addr netip.AddrPort) func(context.Context) bool {
				sock := socketOwned(pgSocket(data, addr.Port()))
				return func(ctx context.Context) bool { return sock(ctx) && logSays(p, "ready to accept connections") }
			},
		}.run(ctx)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	fmt.Fprintf(log, "testbed: results-store postgres on %s (pid %d)\n", s.Addr, s.proc.pid())
	return s, nil
}

// URL names database db on the cluster.
func (s *StoreDB) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", s.Addr, db)
}

// Create makes an empty database and returns its URL.
func (s *StoreDB) Create(ctx context.Context, db string) (string, error) {
	c, err := pgconn.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("testbed: store db: %w", err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	if _, err := c.Exec(ctx, `CREATE DATABASE "`+db+`"`).ReadAll(); err != nil {
		return "", fmt.Errorf("testbed: create database %s: %w", db, err)
	}
	return s.URL(db), nil
}

// Stop ends the cluster and removes its folder.
func (s *StoreDB) Stop() error {
	err := s.proc.stop()
	return errors.Join(err, os.RemoveAll(s.dir))
}

// RequireNATS starts a NATS server for one test and stops it when the test
// ends; like Require, it skips the test when it cannot, or fails it in CI.
func RequireNATS(t testing.TB) *NATS {
	t.Helper()
	n, err := StartNATS(t.Context(), t.Output())
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Errorf("nats stop: %v", err)
		}
	})
	return n
}

// RequireStoreDB starts a results-store PostgreSQL for one test, as
// RequireNATS does.
func RequireStoreDB(t testing.TB) *StoreDB {
	t.Helper()
	s, err := StartStoreDB(t.Context(), t.Output())
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("store db stop: %v", err)
		}
	})
	return s
}
