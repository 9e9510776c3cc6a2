package postgres

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gownscan/gown"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Limits on what one connection's replies may make gown hold. The Conn's
// byte cap bounds the total read; these bound what is kept.
const (
	// maxBody caps one message body. The chunk reader under pgproto3
	// allocates a message's full declared length before reading it, so
	// without this a 5-byte header claiming 1 GiB would allocate 1 GiB.
	// Nothing gown asks for comes near: a pg_database row is ~100 bytes,
	// an ErrorResponse a few hundred.
	maxBody = 64 << 10
	// maxMessages caps the messages read for one request, so a server that
	// streams endless NoticeResponses cannot keep a probe busy until the
	// read cap.
	maxMessages = 4096
	// maxParams caps the ParameterStatus values kept.
	maxParams = 64
	// maxValue caps the length of a value a query returns.
	maxValue = 256
)

// Authentication request codes (src/include/libpq/protocol.h) that pgproto3
// refuses to decode; see readStartup.
const (
	authSCMCreds = 6
	authSSPI     = 9
)

// errNotPG marks a reply that is not the PostgreSQL protocol.
var errNotPG = fmt.Errorf("%w: not the PostgreSQL protocol", gown.ErrNotService)

// wire is one connection's message stream: a pgproto3 Frontend with gown's
// body cap, over a reader that remembers its last error so that a transport
// failure (timeout, EOF, read cap) is told apart from a garbled message.
type wire struct {
	fe *pgproto3.Frontend
	in *trackReader
}

func newWire(r io.Reader, w io.Writer) *wire {
	in := &trackReader{r: r}
	fe := pgproto3.NewFrontend(in, w)
	fe.SetMaxBodyLen(maxBody)
	return &wire{fe: fe, in: in}
}

// trackReader keeps the last error its reader returned.
type trackReader struct {
	r   io.Reader
	err error
}

func (t *trackReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil {
		t.err = err
	}
	return n, err
}

// frameError classifies a failure to read message i. A transport failure
// stays as it is (the engine reports a timeout or closed connection); a
// garbled first message means the peer is not PostgreSQL; a garbled later
// one breaks the protocol.
func (w *wire) frameError(i int, err error) error {
	var tooLong *pgproto3.ExceededMaxBodyLenErr
	switch {
	case w.in.err != nil:
		return err
	case i > 0 && errors.As(err, &tooLong):
		// Past the first message the peer has shown it speaks the protocol,
		// so a length past the cap is an oversized reply, not another
		// service (a first "message" of megabytes is HTTP or the like).
		return fmt.Errorf("%w: message announces %d bytes, cap %d", gown.ErrReplyTooLarge, tooLong.ActualBodyLen, tooLong.MaxExpectedBodyLen)
	case i == 0:
		return fmt.Errorf("%w: %v", errNotPG, err)
	}
	return fmt.Errorf("%w: %v", gown.ErrProtocol, err)
}

// serverError is a backend ErrorResponse, with its free text already redacted:
// messages echo user, database and host names, and a server may put anything
// in them.
type serverError struct {
	Severity string // FATAL, ERROR (unlocalized when the server sends it)
	Code     string // SQLSTATE, e.g. 28000
	Message  string // the server's words: the engine's text pass masks them
}

func newServerError(e *pgproto3.ErrorResponse) *serverError {
	sev := e.SeverityUnlocalized
	if sev == "" {
		sev = e.Severity
	}
	return &serverError{
		Severity: sev,
		Code:     e.Code[:min(len(e.Code), 5)], // SQLSTATEs are five characters
		Message:  e.Message,
	}
}

func (e *serverError) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Severity, e.Code, e.Message)
}

// startupReply is what the server answered to a StartupMessage.
type startupReply struct {
	// AuthOK is set once AuthenticationOk arrived: the server let the user in
	// without a password. A FATAL after it (missing role or database) comes
	// from a server that already trusts this client.
	AuthOK bool
	// Method names the credential the server asked for instead, when it did.
	Method string
	// SASL lists the mechanisms offered when there was a choice.
	SASL string
	// Ready is set when ReadyForQuery arrived: the session can run queries.
	Ready bool
	// Params are the ParameterStatus values (server_version, is_superuser).
	Params map[string]string
	// Err is the ErrorResponse that ended the startup, if any.
	Err *serverError
}

// authMethod names an authentication request; ok is false for
// AuthenticationOk and for continuation messages that may not come first.
func authMethod(m pgproto3.BackendMessage) (name string, ok bool) {
	switch m := m.(type) {
	case *pgproto3.AuthenticationCleartextPassword:
		return "password", true
	case *pgproto3.AuthenticationMD5Password:
		return "md5", true
	case *pgproto3.AuthenticationGSS:
		return "gss", true
	case *pgproto3.AuthenticationSASL:
		// Over TLS the server lists SCRAM-SHA-256-PLUS (channel binding)
		// first; the method is the same password check, so name the plain
		// one and keep the list apart (see saslList).
		for _, mech := range m.AuthMechanisms {
			if !strings.HasSuffix(mech, "-PLUS") {
				return strings.ToLower(mech), true
			}
		}
		if len(m.AuthMechanisms) > 0 {
			return strings.ToLower(m.AuthMechanisms[0]), true
		}
		return "sasl", true
	}
	return "", false
}

// readStartup reads the server's messages after a StartupMessage until the
// server asks for credentials, refuses, or is ready for queries. It returns
// an error wrapping errNotPG when the first message does not parse as the
// protocol, gown.ErrProtocol when a later one does not.
func readStartup(w *wire) (startupReply, error) {
	var rep startupReply
	for i := 0; i < maxMessages; i++ {
		msg, err := w.fe.Receive()
		if err != nil {
			// pgproto3 refuses to decode SSPI and SCM credential requests
			// but notes the type first; both still mean "credentials".
			switch t := w.fe.GetAuthType(); {
			case !rep.AuthOK && t == authSSPI:
				rep.Method = "sspi"
				return rep, nil
			case !rep.AuthOK && t == authSCMCreds:
				rep.Method = "scm-credentials"
				return rep, nil
			}
			return rep, w.frameError(i, err)
		}
		switch m := msg.(type) {
		case *pgproto3.AuthenticationOk:
			rep.AuthOK = true
		case *pgproto3.ErrorResponse:
			rep.Err = newServerError(m)
			return rep, nil
		case *pgproto3.ParameterStatus:
			if rep.Params == nil {
				rep.Params = map[string]string{}
			}
			if len(rep.Params) < maxParams {
				rep.Params[m.Name] = m.Value
			}
		case *pgproto3.ReadyForQuery:
			if !rep.AuthOK {
				return rep, fmt.Errorf("%w: ready for query before authentication", gown.ErrProtocol)
			}
			rep.Ready = true
			return rep, nil
		case *pgproto3.BackendKeyData, *pgproto3.NoticeResponse, *pgproto3.NegotiateProtocolVersion:
			// Expected along the way; nothing to keep.
		default:
			if name, ok := authMethod(m); ok && !rep.AuthOK {
				rep.Method = name
				if sasl, ok := m.(*pgproto3.AuthenticationSASL); ok && len(sasl.AuthMechanisms) > 1 {
					rep.SASL = strings.Join(sasl.AuthMechanisms, ",")
				}
				return rep, nil
			}
			if i == 0 {
				return rep, fmt.Errorf("%w: startup answered with %T", errNotPG, m)
			}
			return rep, fmt.Errorf("%w: unexpected %T during startup", gown.ErrProtocol, m)
		}
	}
	return rep, fmt.Errorf("%w: more than %d messages during startup", gown.ErrReplyTooLarge, maxMessages)
}

// queryResult is what a simple Query returned.
type queryResult struct {
	Rows [][]string // text values; a NULL is ""
	Err  *serverError
}

// maxRows caps the rows kept from one query; the queries say LIMIT 1000.
const maxRows = 1000

// maxCols caps the columns kept per row; gown's queries have at most three.
const maxCols = 8

// readQuery reads a simple Query's reply up to ReadyForQuery. An
// ErrorResponse is kept and reading goes on to ReadyForQuery, as the
// protocol has it, so the session stays usable.
func readQuery(w *wire) (queryResult, error) { return readQueryCapped(w, maxCols, maxValue) }

// readQueryCapped is readQuery keeping at most cols columns of each row and
// value bytes of each field (sampling reads wider rows than the catalog).
func readQueryCapped(w *wire, cols, value int) (queryResult, error) {
	var res queryResult
	for range maxMessages + maxRows {
		msg, err := w.fe.Receive()
		if err != nil {
			return res, w.frameError(1, err)
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			if len(res.Rows) >= maxRows {
				continue
			}
			row := make([]string, 0, min(len(m.Values), cols))
			for _, v := range m.Values[:min(len(m.Values), cols)] {
				row = append(row, string(v[:min(len(v), value)]))
			}
			res.Rows = append(res.Rows, row)
		case *pgproto3.ErrorResponse:
			res.Err = newServerError(m)
		case *pgproto3.ReadyForQuery:
			return res, nil
		case *pgproto3.RowDescription, *pgproto3.CommandComplete, *pgproto3.EmptyQueryResponse,
			*pgproto3.NoticeResponse, *pgproto3.ParameterStatus, *pgproto3.NotificationResponse:
			// Framing around the rows; nothing to keep.
		default:
			return res, fmt.Errorf("%w: unexpected %T in a query reply", gown.ErrProtocol, m)
		}
	}
	return res, fmt.Errorf("%w: query reply too long", gown.ErrReplyTooLarge)
}
