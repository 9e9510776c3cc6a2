package testbed

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/gownscan/gown"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// pgSSLRequest asks the server whether it speaks TLS; it answers 'S' or 'N'.
const pgSSLRequest = "\x00\x00\x00\x08\x04\xd2\x16\x2f"

// checkPostgres starts up from Source as a scan would and compares what the
// server says with the truth: 'S' to SSLRequest exactly when TLS is
// offered, then AuthenticationOk (open), a password request
// (auth-required) or FATAL 28000 (restricted).
func (s *Server) checkPostgres(ctx context.Context) error {
	st, ssl, err := pgFirstAnswer(ctx, s.Addr)
	if err != nil {
		return err
	}
	if wantS := s.Want.TLS == gown.TLSOffered || s.Want.TLS == gown.TLSRequired; (ssl == 'S') != wantS {
		return fmt.Errorf("postgres SSLRequest from %s to %s: answered %q, want TLS %s", Source, s.Addr, ssl, s.Want.TLS)
	}
	if st == gown.StatusOpen && s.pgSuper != "" {
		// postgres is a plain role here: a login is not a read, a SELECT
		// on a planted table decides.
		if st, err = s.pgReadCheck(ctx); err != nil {
			return err
		}
	}
	if st != s.Want.Status {
		return fmt.Errorf("postgres startup from %s to %s: server behaves as %s, want %s", Source, s.Addr, st, s.Want.Status)
	}
	return nil
}

// pgReadCheck logs in from Source as postgres to the first planted table's
// database and reads one row of it: open when that works, restricted when
// it is refused for want of privilege (42501).
func (s *Server) pgReadCheck(ctx context.Context) (gown.Status, error) {
	var tb plantTable
	for _, v := range postgresVariants() {
		if v.name == s.Name {
			tb = v.tables[0]
		}
	}
	cfg, err := pgconn.ParseConfig(fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable application_name=%s",
		s.Addr.Addr(), s.Addr.Port(), tb.schema, pgSetupApp))
	if err != nil {
		return "", fmt.Errorf("postgres config: %w", err)
	}
	cfg.DialFunc = Dialer().DialContext
	c, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("postgres connect %s on %s from %s: %w", tb.schema, s.Addr, Source, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	_, err = c.Exec(ctx, `SELECT 1 FROM "`+tb.name+`" LIMIT 1`).ReadAll()
	var pe *pgconn.PgError
	switch {
	case err == nil:
		return gown.StatusOpen, nil
	case errors.As(err, &pe) && pe.Code == "42501":
		return gown.StatusRestricted, nil
	}
	return "", fmt.Errorf("postgres read check on %s: %w", s.Addr, err)
}

// pgFirstAnswer dials addr from Source, sends SSLRequest (and shakes hands
// when the answer is 'S'), starts up as postgres without a password, and
// returns the verdict of the first answer and the SSLRequest answer.
func pgFirstAnswer(ctx context.Context, addr netip.AddrPort) (gown.Status, byte, error) {
	c, err := Dialer().DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return "", 0, fmt.Errorf("postgres dial %s from %s: %w", addr, Source, err)
	}
	defer c.Close()
	defer connDeadline(ctx, c, 5*time.Second)()
	var ssl [1]byte
	if _, err := io.WriteString(c, pgSSLRequest); err != nil {
		return "", 0, fmt.Errorf("postgres SSLRequest on %s: %w", addr, err)
	}
	if _, err := io.ReadFull(c, ssl[:]); err != nil {
		return "", 0, fmt.Errorf("postgres SSLRequest on %s: %w", addr, err)
	}
	var conn net.Conn = c
	if ssl[0] == 'S' {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true}) // self-signed on purpose
		if err := tc.HandshakeContext(ctx); err != nil {
			return "", ssl[0], fmt.Errorf("postgres TLS handshake on %s: %w", addr, err)
		}
		conn = tc
	}
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber,
		Parameters: map[string]string{"user": "postgres", "database": "postgres", "application_name": pgSetupApp}})
	if err := fe.Flush(); err != nil {
		return "", ssl[0], fmt.Errorf("postgres startup on %s: %w", addr, err)
	}
	msg, err := fe.Receive()
	if err != nil {
		return "", ssl[0], fmt.Errorf("postgres startup on %s: %w", addr, err)
	}
	switch m := msg.(type) {
	case *pgproto3.AuthenticationOk:
		fe.Send(&pgproto3.Terminate{})
		fe.Flush()
		return gown.StatusOpen, ssl[0], nil
	case *pgproto3.AuthenticationSASL, *pgproto3.AuthenticationMD5Password, *pgproto3.AuthenticationCleartextPassword:
		return gown.StatusAuthRequired, ssl[0], nil
	case *pgproto3.ErrorResponse:
		if m.Code == "28000" {
			return gown.StatusRestricted, ssl[0], nil
		}
		return "", ssl[0], fmt.Errorf("postgres startup on %s: %s %s: %s", addr, m.Severity, m.Code, m.Message)
	}
	return "", ssl[0], fmt.Errorf("postgres startup on %s: unexpected %T", addr, msg)
}
