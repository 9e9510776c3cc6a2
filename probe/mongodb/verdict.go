package mongodb

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TLS record types a TLS server sends to a client that did not say hello.
const (
	tlsAlert     = 0x15
	tlsHandshake = 0x16
)

// errNotMongo marks a first reply that is not a MongoDB wire message.
var errNotMongo = errors.New("not a MongoDB wire reply")

// run greets the server and follows the answers to a verdict. It returns a
// result whenever the peer answered, in MongoDB framing or recognisably not;
// an error alongside a result means a later step failed.
func (s *session) run() (*gown.Result, error) {
	hello, err := s.hello()
	if errors.Is(err, errNotMongo) {
		return s.notMongo(), nil
	}
	if err != nil {
		return nil, err
	}
	r := &gown.Result{Target: s.t, Store: "mongodb", Product: "MongoDB"}
	fromHello(r, hello)
	if s.legacy {
		r.Detail("framing", "op_query")
	}
	// Secondaries refuse reads from a client that did not opt in.
	s.secondaryOK = r.Details["role"] == "secondary"
	if err := s.buildInfo(r); err != nil {
		r.Status, r.Reason = gown.StatusUnknown, "hello answered; buildInfo got no usable reply"
		return r, err
	}
	return s.listDatabases(r)
}

// hello sends hello (isMaster to a server that does not know hello, and
// always over OP_QUERY) and returns the reply. A first reply that breaks
// the framing or is no command reply means the peer is not MongoDB.
func (s *session) hello() (bson.Raw, error) {
	name := "hello"
	if s.legacy {
		name = "isMaster"
	}
	doc, err := s.command(name, "admin", bson.D{{Key: name, Value: 1}})
	if err == nil && !s.legacy {
		// hello came with 4.4.2 (and 4.2.10, 4.0.21); earlier servers
		// refuse it as an unknown command and know isMaster.
		if e := refusal(doc); e != nil && (e.code == codeCommandNotFound || strings.Contains(e.msg, "no such")) {
			doc, err = s.command("isMaster", "admin", bson.D{{Key: "isMaster", Value: 1}})
		}
	}
	if err != nil {
		if errors.Is(err, gown.ErrProtocol) && !errors.Is(err, errLegacy) || errors.Is(err, gown.ErrReplyTooLarge) {
			return nil, fmt.Errorf("%w: %w", errNotMongo, err)
		}
		return nil, err
	}
	if _, found := okValue(doc); !found {
		return nil, fmt.Errorf("%w: mongodb hello on %s: reply has no ok field", errNotMongo, s.t)
	}
	return doc, nil
}

// buildInfo names the product and version. A refusal is no failure: the
// version is then unknown, the verdict still to come.
func (s *session) buildInfo(r *gown.Result) error {
	doc, err := s.command("buildInfo", "admin", bson.D{{Key: "buildInfo", Value: 1}})
	if err != nil {
		return err
	}
	if refusal(doc) == nil {
		fromBuildInfo(r, doc)
	}
	return nil
}

// listDatabases is the data path: a listing given without credentials is
// the open door.
func (s *session) listDatabases(r *gown.Result) (*gown.Result, error) {
	doc, err := s.command("listDatabases", "admin", bson.D{{Key: "listDatabases", Value: 1}, {Key: "nameOnly", Value: false}})
	if err != nil {
		r.Status, r.Reason = gown.StatusUnknown, "listDatabases got no usable reply"
		return r, err
	}
	if e := refusal(doc); e != nil {
		if e.unauthorized() {
			r.Status, r.Reason = gown.StatusAuthRequired, fmt.Sprintf("listDatabases requires authentication (%s)", e)
		} else {
			r.Status, r.Reason = gown.StatusUnknown, fmt.Sprintf("listDatabases refused: %s %s", e, quote(e.msg))
		}
		return r, nil
	}
	dbs, total, truncated, ok := parseDatabases(doc)
	switch {
	case !ok:
		r.Status, r.Reason = gown.StatusUnknown, "listDatabases answered ok without a databases array"
		return r, nil
	case len(dbs) == 0:
		return s.tieBreak(r)
	}
	r.Status, r.Reason = gown.StatusOpen, fmt.Sprintf("listDatabases answered without credentials (%d databases)", len(dbs))
	return r, s.inventory(r, dbs, total, truncated)
}

// tieBreak settles an empty listing. MongoDB with authentication on can
// answer listDatabases with ok:1 and no databases (it lists only those the
// caller may see), so an empty list alone is no proof of an open door. A
// second command that needs no particular database, getLog, is refused
// with code 13 by such a server and answered by an open one.
func (s *session) tieBreak(r *gown.Result) (*gown.Result, error) {
	const empty = "listDatabases listed no databases"
	doc, err := s.command("getLog", "admin", bson.D{{Key: "getLog", Value: "startupWarnings"}})
	if err != nil {
		r.Status, r.Reason = gown.StatusUnknown, empty+"; getLog got no usable reply"
		return r, err
	}
	if e := refusal(doc); e != nil {
		if e.unauthorized() {
			r.Status, r.Reason = gown.StatusAuthRequired, fmt.Sprintf("%s and getLog requires authentication (%s)", empty, e)
		} else {
			r.Status, r.Reason = gown.StatusUnknown, fmt.Sprintf("%s and getLog was refused: %s %s", empty, e, quote(e.msg))
		}
		return r, nil
	}
	r.Status, r.Reason = gown.StatusOpen, empty+" and getLog answered without credentials: open, but empty"
	r.Inventory = &gown.Inventory{}
	return r, nil
}

// notMongo is the verdict on a peer whose first reply is no MongoDB reply.
func (s *session) notMongo() *gown.Result {
	r := &gown.Result{Target: s.t, Store: "mongodb", Status: gown.StatusNotService,
		Reason: "reply is not a MongoDB wire message"}
	if kind := sniff(s.head); kind != "" {
		r.Detail("reply", kind)
		r.Reason += "; it looks like " + strings.ToUpper(kind)
	}
	return r
}

// sniff names the protocol of a non-MongoDB reply from its first bytes.
func sniff(head []byte) string {
	switch {
	case len(head) > 0 && (head[0] == tlsAlert || head[0] == tlsHandshake):
		return "tls"
	case bytes.HasPrefix(head, []byte("HTTP/")):
		return "http"
	case bytes.HasPrefix(head, []byte("SSH-")):
		return "ssh"
	}
	return ""
}

// quote trims and redacts a server's error text for a reason.
func quote(msg string) string {
	if msg == "" {
		return `""`
	}
	if len(msg) > 80 {
		msg = msg[:80] + "…"
	}
	return fmt.Sprintf("%q", redact.String(msg))
}
