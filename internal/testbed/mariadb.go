package testbed

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gownscan/gown"
)

// mariadbVariant describes one MariaDB configuration.
type mariadbVariant struct {
	name   string
	want   gown.Status
	tables []plantTable
	// accounts returns the SQL that sets up who may log in, given the hosts
	// root exists for after mariadb-install-db. It runs after planting.
	accounts func(s *Server, rootHosts []string) string
}

// plantTable is one table of generated rows.
type plantTable struct {
	schema, name string
	rows         int
}

var mariadbPackages = []pkg{
	{"mariadb-server", []string{"mariadbd", "mariadb-install-db"}},
	{"mariadb-client", []string{"mariadb"}},
}

// systemSchemas are MariaDB's own, never counted in the truth.
var systemSchemas = []string{"mysql", "information_schema", "performance_schema", "sys"}

func mariadbVariants() []mariadbVariant {
	return []mariadbVariant{{
		// root with an empty password from anywhere: the HospitalGown case.
		name: "mariadb-open", want: gown.StatusOpen,
		tables: []plantTable{{"shop", "customers", 250}, {"shop", "orders", 600}, {"analytics", "events", 400}},
		accounts: func(*Server, []string) string {
			return "CREATE USER 'root'@'%';\nGRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;\n"
		},
	}, {
		name: "mariadb-password", want: gown.StatusAuthRequired,
		tables: []plantTable{{"app", "users", 12}},
		accounts: func(s *Server, hosts []string) string {
			s.User, s.Password = "root", secret()
			var b strings.Builder
			// root@<hostname> cannot be altered while --skip-name-resolve
			// ignores it (error 1396), but it can be dropped.
			for _, h := range hosts {
				if h != "localhost" {
					fmt.Fprintf(&b, "DROP USER 'root'@'%s';\n", h)
				}
			}
			fmt.Fprintf(&b, "ALTER USER 'root'@'localhost' IDENTIFIED BY '%s';\n", s.Password)
			fmt.Fprintf(&b, "CREATE USER 'root'@'%%' IDENTIFIED BY '%s';\n", s.Password)
			b.WriteString("GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;\n")
			return b.String()
		},
	}, {
		// Only root@localhost (the socket) remains; with --skip-name-resolve
		// no TCP client matches any account host, so the server answers the
		// connect with error 1130 instead of a greeting.
		name: "mariadb-restricted", want: gown.StatusRestricted,
		tables: []plantTable{{"crm", "contacts", 40}},
		accounts: func(_ *Server, hosts []string) string {
			var b strings.Builder
			for _, h := range hosts {
				if h != "localhost" {
					fmt.Fprintf(&b, "DROP USER 'root'@'%s';\n", h)
				}
			}
			return b.String()
		},
	}, {
		// An anonymous account with SELECT on the data schemas and no
		// SHOW DATABASES: no status or admin command is needed to read the
		// rows, so the data is open.
		name: "mariadb-select-only", want: gown.StatusOpen,
		tables: selectOnlyTables, accounts: anonymousGrant("SELECT", selectOnlyTables, true),
	}, {
		// An anonymous account that may INSERT into the tables but not
		// SELECT them: information_schema lists the tables, the login
		// works, yet nothing can be read: restricted.
		name: "mariadb-insert-only", want: gown.StatusRestricted,
		tables: insertOnlyTables, accounts: anonymousGrant("INSERT", insertOnlyTables, false),
	}}
}

var (
	selectOnlyTables = []plantTable{{"billing", "invoices", 75}}
	insertOnlyTables = []plantTable{{"audit", "events", 30}, {"audit", "logins", 20}}
)

// anonymousGrant returns the SQL that leaves only root@localhost (the
// socket) and adds the anonymous account ”@'%', which answers a TCP login
// as any user with an empty password, holding grant on every schema of
// tables and of the corpus (when planted).
func anonymousGrant(grant string, tables []plantTable, corpus bool) func(*Server, []string) string {
	return func(_ *Server, hosts []string) string {
		var b strings.Builder
		for _, h := range hosts {
			if h != "localhost" {
				fmt.Fprintf(&b, "DROP USER 'root'@'%s';\n", h)
			}
		}
		b.WriteString("CREATE USER ''@'%';\n")
		schemas := map[string]bool{}
		for _, t := range tables {
			schemas[t.schema] = true
		}
		if corpus {
			schemas[SQLCorpusDB], schemas[RansomName] = true, true
		}
		for _, sc := range slices.Sorted(maps.Keys(schemas)) {
			fmt.Fprintf(&b, "GRANT %s ON `%s`.* TO ''@'%%';\n", grant, sc)
		}
		return b.String()
	}
}

func mariadbConfigs() []config {
	var out []config
	for _, v := range mariadbVariants() {
		out = append(out, config{
			name: v.name, kind: "mysql", pkgs: mariadbPackages,
			start: func(ctx context.Context, log io.Writer, s *Server) error { return startMariaDB(ctx, log, s, v) },
		})
	}
	return out
}

// startMariaDB creates a fresh data folder, runs mariadbd on it, plants the
// tables and sets up the accounts.
func startMariaDB(ctx context.Context, log io.Writer, s *Server, v mariadbVariant) error {
	bin, err := LookBin("mariadbd")
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(v.name); err != nil {
		return err
	}
	began := time.Now()
	data := filepath.Join(s.dir, "data")
	tmp := filepath.Join(s.dir, "tmp")
	cred, err := installDB(ctx, data, tmp)
	if err != nil && ctx.Err() == nil {
		// A bootstrap that fails for a passing reason should not skip a
		// whole test run: say so and try fresh folders once.
		fmt.Fprintf(log, "testbed: %s: retrying after %v\n", v.name, err)
		os.RemoveAll(data)
		os.RemoveAll(tmp)
		cred, err = installDB(ctx, data, tmp)
	}
	if err != nil {
		return err
	}
	installed := time.Now()
	s.sock = filepath.Join(data, "mysqld.sock")
	s.LogPath = filepath.Join(data, "general.log")
	args := func(port uint16) []string {
		return []string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp,
			"--bind-address=127.0.0.1", "--port=" + strconv.Itoa(int(port)), "--socket=" + s.sock,
			"--skip-log-bin", "--innodb-buffer-pool-size=32M",
			// Connect-only probes count as aborted handshakes; the default
			// 100 would soon block the client address.
			"--max-connect-errors=1000000", "--skip-name-resolve",
			"--general-log=1", "--general-log-file=" + s.LogPath,
			"--innodb-buffer-pool-dump-at-shutdown=0", "--innodb-buffer-pool-load-at-startup=0"}
	}
	s.proc, s.Addr, err = launch(ctx, loopback, s.sock, filepath.Join(s.dir, "server.log"), bin, cred, args)
	if err != nil {
		return err
	}
	listening := time.Now()
	dbs, err := s.plantMariaDB(ctx, v)
	if err != nil {
		return err
	}
	s.Want = newTruth(v.want, dbs)
	if v.want == gown.StatusOpen {
		s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, SQLCorpusDB, []string{"ransom-note"}
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(log, "testbed: %s on %s (pid %d) ready in %s (install-db %s, start %s, plant %s)\n",
		v.name, s.Addr, s.proc.pid(), ms(time.Since(began)),
		ms(installed.Sub(began)), ms(listening.Sub(installed)), ms(time.Since(listening)))
	return nil
}

// installDB runs mariadb-install-db into data, with tmp as the server's
// private tmpdir: in the shared /tmp, parallel bootstraps lost each other's
// #sql-temptable files (error 29) about one run in ten. As root it prepares the
// folder for user mysql and returns the credential mariadbd must run with;
// otherwise the server runs as the current user.
func installDB(ctx context.Context, data, tmp string) (*syscall.Credential, error) {
	bin, err := LookBin("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	for _, d := range []string{data, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return nil, fmt.Errorf("testbed: %w", err)
		}
	}
	args := []string{"--no-defaults", "--datadir=" + data, "--tmpdir=" + tmp,
		"--auth-root-authentication-method=normal", "--skip-test-db"}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("mysql")
		if err != nil {
			return nil, fmt.Errorf("testbed: mariadbd refuses root and there is no user mysql: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, d := range []string{data, tmp} {
			if err := os.Chown(d, uid, gid); err != nil {
				return nil, fmt.Errorf("testbed: %w", err)
			}
		}
		// mariadbd is started as mysql directly instead of with --user,
		// because dropping privileges itself would clear the parent-death
		// signal.
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		args = append(args, "--user=mysql")
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	// The script starts mariadbd --bootstrap: on cancel kill the group,
	// not just the shell.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if out, err := cmd.CombinedOutput(); err != nil {
		var t tailBuffer
		t.Write(out)
		return nil, fmt.Errorf("testbed: mariadb-install-db: %w: %s", err, t.String())
	}
	return cred, nil
}

// sql runs statements through the mariadb client over the socket as root and
// returns its tab-separated output.
func (s *Server) sql(ctx context.Context, stmts string) (string, error) {
	bin, err := LookBin("mariadb")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, bin, "--no-defaults", "--protocol=socket", "--socket="+s.sock,
		"--user=root", "--batch", "--skip-column-names")
	cmd.Stdin = strings.NewReader(stmts)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("mariadb client on %s: %w: %s", s.sock, err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// plantMariaDB creates the tables, makes InnoDB's row statistics exact,
// reads them back as the truth, then applies the accounts.
func (s *Server) plantMariaDB(ctx context.Context, v mariadbVariant) (map[string]uint64, error) {
	var b strings.Builder
	want := map[string]uint64{}
	for _, t := range v.tables {
		if want[t.schema] == 0 {
			fmt.Fprintf(&b, "CREATE DATABASE IF NOT EXISTS `%s`;\n", t.schema)
		}
		want[t.schema] += uint64(t.rows)
		writeTable(&b, t)
	}
	if v.want == gown.StatusOpen {
		stmts, rows := corpusSQL(
			func(db, table string) string { return "`" + db + "`.`" + table + "`" },
			func(db string) string { return "CREATE DATABASE `" + db + "`;\n" },
			func(db, table string) string { return "ANALYZE TABLE `" + db + "`.`" + table + "`;\n" })
		for db, sql := range stmts {
			b.WriteString(sql)
			want[db] = rows[db]
		}
	}
	if _, err := s.sql(ctx, b.String()); err != nil {
		return nil, err
	}
	got, err := s.tableRows(ctx)
	if err != nil {
		return nil, err
	}
	if !maps.Equal(got, want) {
		return nil, fmt.Errorf("mariadb %s: information_schema.table_rows %v after ANALYZE, planted %v", s.Name, got, want)
	}
	out, err := s.sql(ctx, "SELECT host FROM mysql.user WHERE user = 'root';")
	if err != nil {
		return nil, err
	}
	hosts := strings.Fields(out)
	if _, err := s.sql(ctx, v.accounts(s, hosts)+"FLUSH PRIVILEGES;\n"); err != nil {
		return nil, err
	}
	return want, nil
}

// writeTable appends CREATE, INSERT and ANALYZE for t. ANALYZE matters:
// gown reads table_rows, which InnoDB only estimates until statistics are
// recomputed; on tables this small the recomputed figure is exact.
func writeTable(b *strings.Builder, t plantTable) {
	fmt.Fprintf(b, "CREATE TABLE `%s`.`%s` (id INT PRIMARY KEY, name VARCHAR(64), email VARCHAR(128), "+
		"amount DECIMAL(10,2), created DATETIME) ENGINE=InnoDB;\n", t.schema, t.name)
	fmt.Fprintf(b, "INSERT INTO `%s`.`%s` VALUES ", t.schema, t.name)
	for i := 1; i <= t.rows; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, "(%d,'%s %d','%s%d@example.com',%d.%02d,'2024-01-01' + INTERVAL %d HOUR)",
			i, t.name, i, t.name, i, i*7%1000, i%100, i)
	}
	b.WriteString(";\n")
	fmt.Fprintf(b, "ANALYZE TABLE `%s`.`%s`;\n", t.schema, t.name)
}

// tableRows sums information_schema.table_rows per non-system schema, the
// figure a scan reads.
func (s *Server) tableRows(ctx context.Context) (map[string]uint64, error) {
	q := "SELECT table_schema, SUM(table_rows) FROM information_schema.tables WHERE table_schema NOT IN ('" +
		strings.Join(systemSchemas, "','") + "') GROUP BY table_schema;"
	out, err := s.sql(ctx, q)
	if err != nil {
		return nil, err
	}
	got := map[string]uint64{}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		n, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("mariadb table_rows %q: %w", line, err)
		}
		got[f[0]] = n
	}
	return got, nil
}
