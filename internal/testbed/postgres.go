package testbed

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/gownscan/gown"
)

// pgSetupApp is the application_name of every session the test bed opens, so
// the server log tells them from a scan's.
const pgSetupApp = "gown-testbed"

// postgresVariant describes one PostgreSQL configuration.
type postgresVariant struct {
	name     string
	want     gown.Status
	tls      gown.TLSMode // what a correct scan reports
	hba      string       // the pg_hba.conf line for TCP clients
	password bool         // give role postgres a password
	// tables to plant; schema names the database, created unless it is
	// "postgres".
	tables []plantTable
	// super, when set, is the bootstrap superuser initdb makes in place of
	// postgres; role postgres is then created as a plain login role, given
	// SELECT on every planted table when selects is set, nothing otherwise.
	super   string
	selects bool
}

var postgresPackages = []pkg{{"postgresql", []string{"initdb", "postgres"}}}

func postgresVariants() []postgresVariant {
	few := []plantTable{{"postgres", "accounts", 12}}
	return []postgresVariant{{
		// trust for every loopback client: the HospitalGown case.
		name: "postgres-trust", want: gown.StatusOpen, tls: gown.TLSNone,
		hba:    "host all all 127.0.0.0/8 trust",
		tables: []plantTable{{"shop", "customers", 300}, {"app", "events", 150}},
	}, {
		name: "postgres-scram", want: gown.StatusAuthRequired, tls: gown.TLSNone,
		hba: "host all all 127.0.0.0/8 scram-sha-256", password: true, tables: few,
	}, {
		// pg_hba.conf refuses the client before authentication: FATAL
		// 28000.
		name: "postgres-reject", want: gown.StatusRestricted, tls: gown.TLSNone,
		hba: "host all all 127.0.0.0/8 reject", tables: few,
	}, {
		// ssl=on with a self-signed certificate; "host" lines match TLS
		// and plaintext alike, so TLS is offered, not required.
		name: "postgres-tls", want: gown.StatusAuthRequired, tls: gown.TLSOffered,
		hba: "host all all 127.0.0.0/8 scram-sha-256", password: true, tables: few,
	}, {
		// trust, but postgres is a plain role holding SELECT on the
		// planted tables: no superuser, no admin command, yet every row
		// reads. Open.
		name: "postgres-select-only", want: gown.StatusOpen, tls: gown.TLSNone,
		hba:    "host all all 127.0.0.0/8 trust",
		tables: []plantTable{{"crm", "leads", 90}}, super: pgBedSuper, selects: true,
	}, {
		// trust, postgres a plain role with no grant: it logs in and reads
		// the catalog (which every role may), but no table. Restricted.
		name: "postgres-no-select", want: gown.StatusRestricted, tls: gown.TLSNone,
		hba:    "host all all 127.0.0.0/8 trust",
		tables: []plantTable{{"crm", "leads", 90}, {"hr", "staff", 25}}, super: pgBedSuper,
	}}
}

// pgBedSuper is the superuser of the configurations where postgres is not.
const pgBedSuper = "gown_bed_admin"

func postgresConfigs() []config {
	var out []config
	for _, v := range postgresVariants() {
		out = append(out, config{
			name: v.name, kind: "postgres", pkgs: postgresPackages,
			start: func(ctx context.Context, log io.Writer, s *Server) error { return startPostgres(ctx, log, s, v) },
		})
	}
	return out
}

// startPostgres runs initdb and postgres for v, plants the tables and sets
// the password.
func startPostgres(ctx context.Context, log io.Writer, s *Server, v postgresVariant) error {
	bin, err := LookBin("postgres")
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(v.name); err != nil {
		return err
	}
	began := time.Now()
	data := filepath.Join(s.dir, "data")
	s.pgSuper = v.super
	cred, err := initPostgres(ctx, data, s.pgUser())
	if err != nil {
		return err
	}
	// The socket line stays trust: the test bed plants and controls over it.
	if err := writeOwned(filepath.Join(data, "pg_hba.conf"), "local all all trust\n"+v.hba+"\n", cred); err != nil {
		return err
	}
	args := postgresArgs(data)
	if v.tls == gown.TLSOffered {
		tlsArgs, err := writePGCert(data, cred)
		if err != nil {
			return err
		}
		args = append(args, tlsArgs...)
	}
	installed := time.Now()
	s.LogPath = filepath.Join(s.dir, "server.log")
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: s.LogPath, bin: bin, cred: cred,
		args: func(port uint16) []string { return append([]string{"-p", strconv.Itoa(int(port))}, args...) },
		owned: func(p *proc, addr netip.AddrPort) func(context.Context) bool {
			sock := socketOwned(pgSocket(data, addr.Port()))
			// The socket accepts while recovery runs and answers 57P03
			// until the server logs that it is ready.
			return func(ctx context.Context) bool { return sock(ctx) && logSays(p, "ready to accept connections") }
		},
	}.run(ctx)
	if err != nil {
		return err
	}
	s.sock = pgSocket(data, s.Addr.Port())
	listening := time.Now()
	dbs, err := s.plantPostgres(ctx, v.tables)
	if err != nil {
		return err
	}
	if v.want == gown.StatusOpen {
		corpus, err := s.plantPostgresCorpus(ctx)
		if err != nil {
			return err
		}
		maps.Copy(dbs, corpus)
	}
	if v.super != "" {
		if err := s.pgPlainRole(ctx, dbs, v.selects); err != nil {
			return err
		}
	}
	if v.password {
		if err := s.setPGPassword(ctx); err != nil {
			return err
		}
	}
	s.Want = newTruth(v.want, dbs)
	s.Want.TLS = v.tls
	if v.want == gown.StatusOpen {
		s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, SQLCorpusDB, []string{"ransom-note"}
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(log, "testbed: %s on %s (pid %d) ready in %s (initdb %s, start %s, plant %s)\n",
		v.name, s.Addr, s.proc.pid(), ms(time.Since(began)),
		ms(installed.Sub(began)), ms(listening.Sub(installed)), ms(time.Since(listening)))
	return nil
}

// postgresArgs is the command line but for the port. Every statement and
// connection is logged to stderr (the server log) with a prefix that names
// the session, its client and application, which PostgresLog parses. The
// socket goes into the data folder, which the server's user owns (it writes
// a lock file beside it), and is closed to other local users: the socket
// line is trust.
func postgresArgs(data string) []string {
	set := func(kv ...string) []string {
		var out []string
		for _, x := range kv {
			out = append(out, "-c", x)
		}
		return out
	}
	return append([]string{"-D", data, "-k", data}, set(
		"listen_addresses=127.0.0.1", "unix_socket_permissions=0700",
		"logging_collector=off", "log_destination=stderr",
		"log_statement=all", "log_connections=on", "log_disconnections=on",
		"log_line_prefix="+pgLogPrefix, "log_timezone=UTC", "lc_messages=C",
		// A throwaway cluster: no durability, little memory, and no
		// autovacuum to rewrite the planted statistics or the log.
		"fsync=off", "synchronous_commit=off", "full_page_writes=off",
		"shared_buffers=16MB", "max_connections=40", "autovacuum=off")...)
}

// pgSocket is the path of the server's unix socket in folder dir.
func pgSocket(dir string, port uint16) string {
	return filepath.Join(dir, ".s.PGSQL."+strconv.Itoa(int(port)))
}

// initPostgres runs initdb into data. initdb and postgres refuse to run as
// root: as root it prepares the folder for user postgres and returns the
// credential both run with (set directly rather than through runuser, so the
// server keeps the parent-death signal).
func initPostgres(ctx context.Context, data, super string) (*syscall.Credential, error) {
	bin, err := LookBin("initdb")
	if err != nil {
		return nil, err
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		if cred, err = userCred("postgres"); err != nil {
			return nil, fmt.Errorf("testbed: postgres refuses root and %w", err)
		}
		if err := os.Chown(data, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("testbed: %w", err)
		}
	}
	cmd := exec.CommandContext(ctx, bin, "-D", data, "--auth=trust", "-U", super,
		"--no-sync", "--no-instructions", "--locale=C", "--encoding=UTF8")
	cmd.Dir = filepath.Dir(data)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	// initdb runs postgres --boot: on cancel kill the group, not just initdb.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if out, err := cmd.CombinedOutput(); err != nil {
		var t tailBuffer
		t.Write(out)
		return nil, fmt.Errorf("testbed: initdb: %w: %s", err, t.String())
	}
	return cred, nil
}

// userCred returns the credential of a system user.
func userCred(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("there is no user %s: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// writeOwned writes a file mode 0600 that the server's user (cred; nil for
// ourselves) owns: PostgreSQL insists on that for its key, and memcached
// reads its password files after starting as its own user.
func writeOwned(path, content string, cred *syscall.Credential) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	if cred != nil {
		if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
	}
	return nil
}

// pgUser is the superuser the test bed plants and controls as.
func (s *Server) pgUser() string {
	if s.pgSuper != "" {
		return s.pgSuper
	}
	return "postgres"
}

// pgPlainRole creates role postgres as a plain login role and, when
// selects is set, grants it SELECT on every table of each database in dbs.
func (s *Server) pgPlainRole(ctx context.Context, dbs map[string]uint64, selects bool) error {
	if _, err := s.pgExec(ctx, "postgres", "CREATE ROLE postgres LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE"); err != nil {
		return err
	}
	if !selects {
		return nil
	}
	for _, db := range slices.Sorted(maps.Keys(dbs)) {
		if _, err := s.pgExec(ctx, db, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO postgres"); err != nil {
			return err
		}
	}
	return nil
}
