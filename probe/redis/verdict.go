package redis

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
)

// TLS record types a TLS server sends to a client that did not say hello.
const (
	tlsAlert     = 0x15
	tlsHandshake = 0x16
)

// run sends INFO and follows the reply to a verdict. It returns a result
// whenever the peer answered in RESP or in something recognisably not RESP;
// an error alongside a result means a later step failed.
func (s *session) run() (*gown.Result, error) {
	rep, err := s.do("INFO", cmdInfo)
	if errors.Is(err, errNotRESP) {
		return s.notRESP(), nil
	}
	if err != nil {
		return nil, err
	}
	r := &gown.Result{Target: s.t, Store: "redis", Product: "Redis"}
	switch {
	case (rep.kind == '$' || rep.kind == '=') && !rep.null:
		fromInfo(r, rep.text)
		return r, nil
	case rep.isError():
		return s.refused(r, "INFO", rep.text)
	}
	unexpected(r, "INFO", rep)
	return r, nil
}

// fromInfo fills the result from the INFO text.
func fromInfo(r *gown.Result, text string) {
	in := parseInfo(text)
	if len(in.fields) == 0 && len(in.dbs) == 0 {
		r.Status, r.Reason = gown.StatusUnknown, "INFO answered with text that holds no info fields"
		return
	}
	r.Version = in.fields["redis_version"]
	if v := in.fields["valkey_version"]; v != "" {
		// Valkey keeps redis_version for client compatibility; its own is truer.
		r.Product, r.Version = "Valkey", v
	}
	for _, k := range []string{"redis_mode", "role", "os"} {
		if v := in.fields[k]; v != "" {
			r.Detail(k, v)
		}
	}
	// A replica's master is worth keeping: one pointing at a stranger's host
	// is the mark of the replication takeover.
	if in.fields["role"] == "slave" {
		for _, k := range []string{"master_host", "master_port"} {
			if v := in.fields[k]; v != "" {
				r.Detail(k, v)
			}
		}
		r.Facts.Replica = replicaOf(in.fields)
	}
	if in.fields["redis_mode"] == "sentinel" {
		r.Product = "Redis Sentinel"
		r.Status, r.Reason = gown.StatusNotService, "Redis Sentinel monitors other servers and holds no data"
		return
	}
	r.Status, r.Reason = gown.StatusOpen, "INFO answered without AUTH"
	inv := &gown.Inventory{}
	for _, db := range in.dbs {
		inv.Add(db)
	}
	// used_memory is the whole server's figure, so it wins over the sum.
	inv.Bytes = in.memory
	r.Inventory = inv
}

// refusal maps an error reply to a verdict, by its code (the first word).
func refusal(msg, cmd string) (gown.Status, string, bool) {
	code, _, _ := strings.Cut(msg, " ")
	switch {
	case code == "NOAUTH":
		return gown.StatusAuthRequired, "server demands AUTH (NOAUTH)", true
	case code == "WRONGPASS":
		return gown.StatusAuthRequired, "server refuses the default user without a password (WRONGPASS)", true
	case strings.HasPrefix(msg, "ERR operation not permitted"):
		// Redis before 2.8 said this where later ones say NOAUTH; such old
		// servers are still exposed.
		return gown.StatusAuthRequired, "server demands AUTH (operation not permitted)", true
	case code == "DENIED":
		return gown.StatusProtected, "protected mode refuses non-loopback clients (DENIED)", true
	case code == "NOPERM":
		return gown.StatusRestricted, fmt.Sprintf("ACL forbids %s to the default user (NOPERM)", cmd), true
	}
	return "", "", false
}

// refused places an error reply to cmd (INFO or PING).
func (s *session) refused(r *gown.Result, cmd, msg string) (*gown.Result, error) {
	if st, reason, ok := refusal(msg, cmd); ok {
		r.Status, r.Reason = st, reason
		if st == gown.StatusRestricted {
			return s.aclReads(r)
		}
		return r, nil
	}
	if isUnknownCommand(msg) && cmd == "INFO" {
		return s.renamed(r)
	}
	r.Status, r.Reason = gown.StatusUnknown, fmt.Sprintf("%s refused: %s", cmd, quote(msg))
	return r, nil
}

// aclReads decides a server whose ACL refused INFO: a refused status
// command never decides, a refused read does. It counts the keys (DBSIZE),
// names at most maxACLKeys of them with one SCAN page and reads each by its
// type until one value comes back: then the data is readable (open). Keys
// named but none readable, or no key to name, leave it restricted. An ACL
// such as +@read with ~* forbids INFO yet lets anyone read every key.
func (s *session) aclReads(r *gown.Result) (*gown.Result, error) {
	n, ok, err := s.dbsize()
	if err != nil {
		return r, err
	}
	if ok {
		r.Inventory = &gown.Inventory{}
		r.Inventory.Add(gown.Database{Name: "db0", Items: n})
		r.Detail("acl_reads", "dbsize")
		r.Reason += "; DBSIZE still answers"
		if n == 0 {
			r.Reason += ", but db0 holds no key to read"
			return r, nil
		}
	}
	readable, tried, err := s.keyReads()
	switch {
	case err != nil:
		return r, err
	case readable:
		r.Status = gown.StatusOpen
		r.Reason = "ACL forbids INFO to the default user (NOPERM), yet it reads the keys' values"
		r.Detail("acl_reads", "values")
	case tried == 0:
		r.Reason += "; SCAN names no key"
	default:
		r.Reason += "; reading " + namedKeys(tried) + " is refused too"
	}
	return r, nil
}

// keyReads names at most maxACLKeys keys with one SCAN page and reads each
// value in turn until one comes back: readable says one did, tried how many
// keys were named and read.
func (s *session) keyReads() (readable bool, tried int, err error) {
	keys, err := s.scanKeys()
	if err != nil {
		return false, 0, err
	}
	for _, k := range keys {
		ok, err := s.readable(k)
		if err != nil || ok {
			return ok, len(keys), err
		}
	}
	return false, len(keys), nil
}

// namedKeys says which keys were tried, for a reason.
func namedKeys(n int) string {
	if n == 1 {
		return "the key SCAN named"
	}
	return fmt.Sprintf("each of the %d keys SCAN named", n)
}

// maxACLKeys bounds the keys aclReads tries to read.
const maxACLKeys = 5

// scanKeys returns at most maxACLKeys key names from one SCAN page of db0; a
// refused SCAN names none.
func (s *session) scanKeys() ([]string, error) {
	rep, err := s.do("SCAN", command("SCAN", "0", "COUNT", "10"))
	if err != nil || rep.isError() || len(rep.elems) != 2 {
		return nil, err
	}
	var keys []string
	for _, e := range rep.elems[1].elems {
		if len(keys) == maxACLKeys {
			break
		}
		keys = append(keys, e.text)
	}
	return keys, nil
}

// readable reads the first element of key's value with the read command of
// its type; a value (even an empty one) is a read the ACL let through. TYPE
// alone decides nothing: Redis 7 lets a write-only key pattern (%W~) see a
// key's type but not its value.
func (s *session) readable(key string) (bool, error) {
	typ, err := s.do("TYPE", command("TYPE", key))
	if err != nil || typ.isError() {
		return false, err
	}
	var args []string
	switch typ.text {
	case "string":
		args = []string{"GETRANGE", key, "0", "63"}
	case "hash":
		args = []string{"HSCAN", key, "0", "COUNT", "1"}
	case "list":
		args = []string{"LRANGE", key, "0", "0"}
	case "set":
		args = []string{"SSCAN", key, "0", "COUNT", "1"}
	case "zset":
		args = []string{"ZRANGE", key, "0", "0"}
	default:
		return false, nil // a stream or module type: not read here
	}
	rep, err := s.doValue(args[0], command(args...))
	if err != nil {
		return false, err
	}
	return !rep.isError(), nil
}

// renamed follows an "unknown command" reply to INFO, which means INFO was
// renamed or disabled (rename-command INFO ""): PING, then DBSIZE, tell
// whether commands run without AUTH; then, as after NOPERM, the keys' values
// decide: every key SCAN names refusing its read makes it restricted.
func (s *session) renamed(r *gown.Result) (*gown.Result, error) {
	r.Detail("info", "renamed")
	rep, err := s.do("PING", cmdPing)
	if err != nil {
		r.Status, r.Reason = gown.StatusUnknown, "INFO renamed; PING got no reply"
		return r, err
	}
	switch {
	case rep.kind == '+' && strings.EqualFold(rep.text, "PONG"):
		r.Status, r.Reason = gown.StatusOpen, "INFO renamed; PING answered"
	case rep.isError() && isUnknownCommand(rep.text):
		r.Status, r.Reason = gown.StatusUnknown, "INFO and PING renamed; DBSIZE refused"
	case rep.isError():
		// Unknown-command checks come before AUTH in Redis, so a password
		// only shows now.
		return s.refused(r, "PING", rep.text)
	default:
		unexpected(r, "PING", rep)
		return r, nil
	}
	n, ok, err := s.dbsize()
	if ok {
		if r.Status != gown.StatusOpen {
			r.Status, r.Reason = gown.StatusOpen, "INFO and PING renamed; DBSIZE answered"
		}
		r.Inventory = &gown.Inventory{}
		r.Inventory.Add(gown.Database{Name: "db0", Items: n})
	}
	if err != nil || r.Status != gown.StatusOpen || (ok && n == 0) {
		return r, err
	}
	// Commands run without AUTH, but an ACL may still refuse every key:
	// the reads decide, as they do after NOPERM.
	readable, tried, err := s.keyReads()
	if err == nil && !readable && tried > 0 {
		r.Status = gown.StatusRestricted
		r.Reason += "; but reading " + namedKeys(tried) + " is refused"
	}
	return r, err
}

// dbsize asks for the number of keys in db0; ok is false unless the server
// answered with a count.
func (s *session) dbsize() (n uint64, ok bool, err error) {
	rep, err := s.do("DBSIZE", cmdDBSize)
	if err != nil || rep.kind != ':' || rep.num < 0 {
		return 0, false, err
	}
	return uint64(rep.num), true, nil
}

// unexpected records a well-formed reply of a type cmd never answers with.
func unexpected(r *gown.Result, cmd string, rep reply) {
	r.Status = gown.StatusUnknown
	r.Reason = fmt.Sprintf("%s answered with a RESP %s, not the expected reply", cmd, kindName(rep))
}

// notRESP is the verdict on a peer whose reply is no RESP at all.
func (s *session) notRESP() *gown.Result {
	r := &gown.Result{Target: s.t, Store: "redis", Status: gown.StatusNotService, Reason: "reply is not RESP"}
	if kind := sniff(s.head); kind != "" {
		r.Detail("reply", kind)
		r.Reason = "reply is not RESP; it looks like " + strings.ToUpper(kind)
	}
	return r
}

// sniff names the protocol of a non-RESP reply from its first bytes, for the
// reason and for the TLS retry.
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

func isUnknownCommand(msg string) bool {
	return strings.HasPrefix(msg, "ERR unknown command")
}

func kindName(rep reply) string {
	switch {
	case rep.null:
		return "null"
	case rep.kind == '+':
		return "simple string"
	case rep.kind == ':':
		return "integer"
	case rep.kind == '$':
		return "bulk string"
	case rep.kind == '*':
		return "array"
	}
	return fmt.Sprintf("%q value", rep.kind)
}

// quote trims and redacts a server's error text for a reason.
func quote(msg string) string {
	if len(msg) > 80 {
		msg = msg[:80] + "…"
	}
	return fmt.Sprintf("%q", redact.String(msg))
}
