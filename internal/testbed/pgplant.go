package testbed

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"maps"
	"math/big"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// pgCertCN is the subject of the self-signed certificate of postgres-tls.
const pgCertCN = "gown-testbed-postgres"

// pgExec runs sql (one or more statements, as one simple query) in database
// db over the unix socket as the bed's superuser (postgres, or pgBedSuper
// where postgres is a plain role), and returns the rows of the last
// statement.
func (s *Server) pgExec(ctx context.Context, db, sql string) ([][]string, error) {
	cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable application_name=%s",
		filepath.Dir(s.sock), s.Addr.Port(), s.pgUser(), db, pgSetupApp))
	if err != nil {
		return nil, fmt.Errorf("postgres config: %w", err)
	}
	c, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres connect %s on %s: %w", db, s.sock, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	res, err := c.Exec(ctx, sql).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("postgres on %s/%s: %w", s.sock, db, err)
	}
	var rows [][]string
	if len(res) > 0 {
		for _, r := range res[len(res)-1].Rows {
			row := make([]string, len(r))
			for i, v := range r {
				row[i] = string(v)
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// plantPostgres creates the databases and tables, and waits until the
// statistics views show every planted row: gown counts n_live_tup, which
// the server updates asynchronously, so the truth is what a scan will read.
func (s *Server) plantPostgres(ctx context.Context, tables []plantTable) (map[string]uint64, error) {
	want := map[string]uint64{}
	sql := map[string]*strings.Builder{}
	var dbs []string
	for _, t := range tables {
		if sql[t.schema] == nil {
			sql[t.schema] = &strings.Builder{}
			dbs = append(dbs, t.schema)
		}
		want[t.schema] += uint64(t.rows)
		writePGTable(sql[t.schema], t)
	}
	for _, db := range dbs {
		// CREATE DATABASE cannot share a query with other statements.
		if db != "postgres" {
			if _, err := s.pgExec(ctx, "postgres", `CREATE DATABASE "`+db+`"`); err != nil {
				return nil, err
			}
		}
		if _, err := s.pgExec(ctx, db, sql[db].String()); err != nil {
			return nil, err
		}
	}
	return want, s.waitLiveRows(ctx, want)
}

// waitLiveRows waits until the statistics views of each database in want
// show its planted rows.
func (s *Server) waitLiveRows(ctx context.Context, want map[string]uint64) error {
	dbs := slices.Sorted(maps.Keys(want))
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := s.pgLiveRows(ctx, dbs)
		if err != nil {
			return err
		}
		if maps.Equal(got, want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres %s: n_live_tup %v after ANALYZE, planted %v", s.Name, got, want)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// writePGTable appends CREATE, INSERT and ANALYZE for t. They run as one
// implicit transaction, so ANALYZE's row count and the insert's are not
// counted twice once the statistics are flushed.
func writePGTable(b *strings.Builder, t plantTable) {
	fmt.Fprintf(b, `CREATE TABLE "%s" (id int PRIMARY KEY, name text, email text, amount numeric(10,2), created timestamp);`+"\n", t.name)
	fmt.Fprintf(b, `INSERT INTO "%s" SELECT g, '%s ' || g, '%s' || g || '@example.com', (g * 7 %% 1000) + (g %% 100) / 100.0, `+
		`timestamp '2024-01-01' + g * interval '1 hour' FROM generate_series(1, %d) g;`+"\n", t.name, t.name, t.name, t.rows)
	fmt.Fprintf(b, `ANALYZE "%s";`+"\n", t.name)
}

// pgLiveRows reads, in each database, the figure a scan reads.
func (s *Server) pgLiveRows(ctx context.Context, dbs []string) (map[string]uint64, error) {
	got := map[string]uint64{}
	for _, db := range dbs {
		rows, err := s.pgExec(ctx, db, "SELECT COALESCE(SUM(n_live_tup),0) FROM pg_stat_user_tables")
		if err != nil {
			return nil, err
		}
		if len(rows) != 1 || len(rows[0]) != 1 {
			return nil, fmt.Errorf("postgres %s/%s: %d rows of live counts", s.Name, db, len(rows))
		}
		n, err := strconv.ParseUint(rows[0][0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("postgres %s/%s: live rows %q: %w", s.Name, db, rows[0][0], err)
		}
		got[db] = n
	}
	return got, nil
}

// setPGPassword gives role postgres a random password (SCRAM, the default
// password_encryption). The session stops logging first, so the password
// stays out of the server log.
func (s *Server) setPGPassword(ctx context.Context) error {
	s.User, s.Password = "postgres", secret()
	_, err := s.pgExec(ctx, "postgres", "SET log_statement = 'none'; ALTER ROLE postgres PASSWORD '"+s.Password+"'")
	return err
}

// writePGCert writes a fresh self-signed certificate and key into data and
// returns the settings that switch TLS on with them.
func writePGCert(data string, cred *syscall.Credential) ([]string, error) {
	certPEM, keyPEM, err := selfSigned(pgCertCN)
	if err != nil {
		return nil, err
	}
	cert, key := filepath.Join(data, "server.crt"), filepath.Join(data, "server.key")
	if err := writeOwned(cert, string(certPEM), cred); err != nil {
		return nil, err
	}
	if err := writeOwned(key, string(keyPEM), cred); err != nil {
		return nil, err
	}
	return []string{"-c", "ssl=on", "-c", "ssl_cert_file=" + cert, "-c", "ssl_key_file=" + key}, nil
}

// selfSigned makes an ECDSA certificate for 127.0.0.1 signed by its own key,
// valid for a day: the certificate a quick TLS setup has.
func selfSigned(cn string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("testbed: key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("testbed: certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("testbed: key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), nil
}
