package traffic

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/redact"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// ---- PostgreSQL frontend/backend protocol 3 ----

const (
	pgProtocol3   = 196608
	pgSSLRequest  = 80877103
	pgGSSENCReq   = 80877104
	pgMaxStartup  = 10000
	pgMaxMessages = maxCommands
)

func isPostgresStart(c []byte) bool {
	if len(c) < 8 {
		return false
	}
	l, code := binary.BigEndian.Uint32(c), binary.BigEndian.Uint32(c[4:])
	return code == pgProtocol3 && l > 8 && l < pgMaxStartup || (code == pgSSLRequest || code == pgGSSENCReq) && l == 8
}

// pgMessages splits typed messages (type byte, length including itself).
func pgMessages(b []byte, f func(typ byte, body []byte) bool) {
	for i := 0; i < pgMaxMessages && len(b) >= 5; i++ {
		typ, n := b[0], int(binary.BigEndian.Uint32(b[1:]))
		if n < 4 {
			return
		}
		end := min(1+n, len(b))
		if !f(typ, b[5:end]) || 1+n > len(b) {
			return
		}
		b = b[1+n:]
	}
}

// parsePostgres reads the startup (user, database), the authentication
// the server asked for and the client's answer, the queries and the rows.
func parsePostgres(c, s []byte, fx *facts) {
	for len(c) >= 8 {
		l, code := binary.BigEndian.Uint32(c), binary.BigEndian.Uint32(c[4:])
		if code != pgSSLRequest && code != pgGSSENCReq {
			break
		}
		c = c[8:]
		if len(s) == 0 {
			return
		}
		if s[0] == 'S' || s[0] == 'G' {
			fx.tls = true
			parseTLS(c, s[1:], fx) // the TLS handshake follows at once
			return
		}
		s = s[1:]
		_ = l
	}
	if len(c) < 8 || binary.BigEndian.Uint32(c[4:]) != pgProtocol3 {
		return
	}
	l := int(binary.BigEndian.Uint32(c))
	if l < 8 {
		return
	}
	params := c[8:min(l, len(c))]
	c = c[min(l, len(c)):]
	login := Credential{Kind: "postgres-login"}
	for len(params) > 1 {
		k, rest, ok := cstr(params)
		if !ok || k == "" {
			break
		}
		v, rest, ok := cstr(rest)
		if !ok {
			break
		}
		params = rest
		if k == "user" {
			login.User = redact.Text(v, 64)
		}
	}
	fx.cleartext = true
	var password []byte
	pgMessages(c, func(typ byte, body []byte) bool {
		switch typ {
		case 'p':
			if password == nil {
				password = body
			}
		case 'Q', 'P':
			q := body
			if typ == 'P' { // Parse: statement name, then the query
				if _, rest, ok := cstr(q); ok {
					q = rest
				}
			}
			text, _, _ := cstr(q)
			fx.sample(gown.Sample{Database: "postgres", Collection: "query", Fields: []gown.Field{{Path: "query", Value: text[:min(len(text), flatten.MaxValue)]}}})
		}
		return true
	})
	var method, outcome string
	var names []string
	pgMessages(s, func(typ byte, body []byte) bool {
		switch typ {
		case 'R':
			if len(body) < 4 {
				return true
			}
			switch binary.BigEndian.Uint32(body) {
			case 0:
				if outcome == "" {
					outcome = "accepted"
				}
			case 3:
				method = "cleartext"
			case 5:
				method = "md5"
			case 10:
				method = "scram"
			}
		case 'E':
			if outcome == "" {
				outcome = "refused"
			}
		case 'T':
			names = pgRowNames(body)
		case 'D':
			fx.sample(gown.Sample{Database: "postgres", Collection: "rows", Fields: pgRow(body, names)})
		}
		return true
	})
	switch method {
	case "cleartext":
		pw, _, _ := cstr(password)
		login.Secret, login.Detail = redact.Secret(pw), "password in clear (AuthenticationCleartextPassword)"
	case "md5":
		login.Detail = "md5 password hash (crackable offline with the salt)"
	case "scram":
		login.Detail = "SCRAM-SHA-256 exchange (no password on the wire)"
	default:
		login.Detail = "no password asked (trust)"
	}
	if outcome != "" {
		login.Detail += ", " + outcome
	}
	fx.addCred(login)
}

func pgRowNames(b []byte) []string {
	if len(b) < 2 {
		return nil
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	var out []string
	for i := 0; i < n && i < mysqlMaxRowFields; i++ {
		name, rest, ok := cstr(b)
		if !ok || len(rest) < 18 {
			break
		}
		out = append(out, name)
		b = rest[18:]
	}
	return out
}

func pgRow(b []byte, names []string) []gown.Field {
	if len(b) < 2 {
		return nil
	}
	n := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	var fs []gown.Field
	for i := 0; i < n && i < mysqlMaxRowFields && len(b) >= 4; i++ {
		l := int32(binary.BigEndian.Uint32(b))
		b = b[4:]
		if l < 0 {
			continue
		}
		if int(l) > len(b) {
			break
		}
		name := "col" + strconv.Itoa(i)
		if i < len(names) {
			name = names[i]
		}
		fs = append(fs, valueFields(name, string(b[:l]))...)
		b = b[l:]
	}
	return fs
}

// ---- MongoDB wire protocol ----

const (
	opReply = 1
	opQuery = 2004
	opComp  = 2012
	opMsg   = 2013
	// mongoMaxMessage is the server's own maxMessageSizeBytes.
	mongoMaxMessage = 48 << 20
)

func isMongo(c []byte) bool {
	if len(c) < 16 {
		return false
	}
	l, respTo, op := binary.LittleEndian.Uint32(c), binary.LittleEndian.Uint32(c[8:]), binary.LittleEndian.Uint32(c[12:])
	return l >= 16 && l <= mongoMaxMessage && respTo == 0 && (op == opMsg || op == opQuery || op == opComp)
}

// mongoDocs calls f with each BSON document of each message in b.
func mongoDocs(b []byte, f func(bson.Raw)) {
	for i := 0; i < maxCommands && len(b) >= 16; i++ {
		l := int(binary.LittleEndian.Uint32(b))
		if l < 16 || l > mongoMaxMessage {
			return
		}
		op := binary.LittleEndian.Uint32(b[12:])
		body := b[16:min(l, len(b))]
		switch op {
		case opMsg:
			if len(body) < 4 {
				break
			}
			body = body[4:]
			for len(body) > 0 {
				kind := body[0]
				body = body[1:]
				if kind == 0 {
					d, rest, ok := bsonDoc(body)
					if !ok {
						break
					}
					f(d)
					body = rest
					continue
				}
				if kind != 1 || len(body) < 4 {
					break
				}
				n := int(binary.LittleEndian.Uint32(body))
				if n < 4 || n > len(body) {
					break
				}
				sec := body[4:n]
				body = body[n:]
				if _, rest, ok := cstr(sec); ok {
					sec = rest
				}
				for len(sec) > 0 {
					d, rest, ok := bsonDoc(sec)
					if !ok {
						break
					}
					f(d)
					sec = rest
				}
			}
		case opQuery:
			if len(body) < 4 {
				break
			}
			if _, rest, ok := cstr(body[4:]); ok && len(rest) >= 8 {
				if d, _, ok := bsonDoc(rest[8:]); ok {
					f(d)
				}
			}
		case opReply:
			if len(body) < 20 {
				break
			}
			rest := body[20:]
			for k := 0; k < 1024 && len(rest) > 0; k++ {
				d, r, ok := bsonDoc(rest)
				if !ok {
					break
				}
				f(d)
				rest = r
			}
		}
		if l > len(b) {
			return
		}
		b = b[l:]
	}
}

func bsonDoc(b []byte) (bson.Raw, []byte, bool) {
	if len(b) < 5 {
		return nil, nil, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < 5 || n > len(b) {
		return nil, nil, false
	}
	d := bson.Raw(b[:n])
	if d.Validate() != nil {
		return nil, nil, false
	}
	return d, b[n:], true
}

// parseMongo reads the login (SCRAM's user name) and classifies the
// documents sent and returned.
func parseMongo(c, s []byte, fx *facts) {
	fx.cleartext = true
	mongoDocs(c, func(d bson.Raw) {
		if e, err := d.IndexErr(0); err == nil && (e.Key() == "saslStart" || e.Key() == "authenticate") {
			mech, _ := d.Lookup("mechanism").StringValueOK()
			cred := Credential{Kind: "mongodb-login", Detail: redact.Text(cmpOr(mech, "MONGODB-CR"), 64) + " exchange"}
			if _, payload, ok := d.Lookup("payload").BinaryOK(); ok {
				for _, kv := range strings.Split(string(payload), ",") {
					if u, ok := strings.CutPrefix(kv, "n="); ok {
						cred.User = redact.Text(u, 64)
					}
				}
			}
			if u, ok := d.Lookup("user").StringValueOK(); ok {
				cred.User = redact.Text(u, 64)
			}
			if mech == "PLAIN" {
				cred.Detail = "password in clear (PLAIN)"
				cred.Secret = "[REDACTED]"
			}
			fx.addCred(cred)
			return
		}
		fx.sample(gown.Sample{Database: "mongodb", Collection: "request", Fields: bsonFields(d)})
	})
	mongoDocs(s, func(d bson.Raw) {
		fx.sample(gown.Sample{Database: "mongodb", Collection: "reply", Fields: bsonFields(d)})
	})
}

func bsonFields(d bson.Raw) []gown.Field {
	return flatten.Value("", bsonValue(bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: d}, 0))
}

func bsonValue(v bson.RawValue, depth int) any {
	if depth > flatten.MaxDepth {
		return nil
	}
	switch v.Type {
	case bson.TypeEmbeddedDocument, bson.TypeArray:
		var elems []bson.RawElement
		var err error
		if v.Type == bson.TypeArray {
			elems, err = bson.Raw(v.Value).Elements()
		} else {
			elems, err = v.Document().Elements()
		}
		if err != nil {
			return nil
		}
		elems = elems[:min(len(elems), flatten.MaxFields)]
		if v.Type == bson.TypeArray {
			out := make([]any, 0, len(elems))
			for _, e := range elems {
				out = append(out, bsonValue(e.Value(), depth+1))
			}
			return out
		}
		m := make(map[string]any, len(elems))
		for _, e := range elems {
			m[e.Key()] = bsonValue(e.Value(), depth+1)
		}
		return m
	case bson.TypeString:
		return v.StringValue()
	case bson.TypeInt32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case bson.TypeInt64:
		return strconv.FormatInt(v.Int64(), 10)
	case bson.TypeDouble:
		return strconv.FormatFloat(v.Double(), 'f', -1, 64)
	case bson.TypeBoolean:
		return strconv.FormatBool(v.Boolean())
	}
	return nil
}

// ---- memcached: text and binary protocols ----

var mcCommands = []string{"get ", "gets ", "set ", "add ", "replace ", "append ", "prepend ", "cas ", "delete ", "incr ", "decr ",
	"touch ", "gat ", "gats ", "stats", "version", "flush_all", "verbosity ", "mg ", "ms ", "md ", "ma ", "mn", "me ", "quit"}

func isMemcached(c []byte) bool {
	if len(c) >= 24 && c[0] == 0x80 {
		return true
	}
	for _, m := range mcCommands {
		if bytes.HasPrefix(c, []byte(m)) {
			return true
		}
	}
	return false
}

// parseMemcached reads the values stored and returned, and SASL PLAIN
// logins of the binary protocol.
func parseMemcached(c, s []byte, fx *facts) {
	fx.cleartext = true
	if len(c) > 0 && c[0] == 0x80 {
		mcBinary(c, fx)
		mcBinary(s, fx)
		return
	}
	mcText(c, "set add replace append prepend cas ms", fx)
	mcText(s, "VALUE VA", fx)
}

// mcText reads lines; a line whose command is in data carries a data block
// of the length its fields give.
func mcText(b []byte, data string, fx *facts) {
	cmds := strings.Fields(data)
	for i := 0; i < maxCommands && len(b) > 0; i++ {
		j := bytes.Index(b, []byte("\r\n"))
		if j < 0 {
			return
		}
		f := strings.Fields(string(b[:min(j, 1024)]))
		b = b[j+2:]
		if len(f) < 2 || !contains(cmds, f[0]) {
			continue
		}
		var n int
		switch f[0] {
		case "ms", "VA": // meta: ms key datalen / VA datalen
			idx := 2
			if f[0] == "VA" {
				idx = 1
			}
			if idx >= len(f) {
				continue
			}
			n, _ = strconv.Atoi(f[idx])
		case "VALUE", "set", "add", "replace", "append", "prepend", "cas":
			if len(f) < 4 {
				continue
			}
			k := 4
			if f[0] == "VALUE" {
				k = 3
			}
			if k >= len(f) {
				continue
			}
			n, _ = strconv.Atoi(f[k])
		}
		if n < 0 {
			return
		}
		v := b[:min(n, len(b))]
		fx.sample(gown.Sample{Database: "memcached", Key: f[1], Fields: valueFields(f[1], string(v))})
		if n+2 > len(b) {
			return
		}
		b = b[n+2:]
	}
}

func mcBinary(b []byte, fx *facts) {
	for i := 0; i < maxCommands && len(b) >= 24; i++ {
		if b[0] != 0x80 && b[0] != 0x81 {
			return
		}
		op := b[1]
		kl, el := int(binary.BigEndian.Uint16(b[2:])), int(b[4])
		bl := int(binary.BigEndian.Uint32(b[8:]))
		if bl < kl+el {
			return
		}
		body := b[24:min(24+bl, len(b))]
		if kl+el > len(body) {
			return
		}
		key, val := string(body[el:el+kl]), body[el+kl:]
		switch {
		case b[0] == 0x80 && op == 0x21 && key == "PLAIN": // SASL auth
			parts := strings.Split(string(val), "\x00")
			if len(parts) == 3 {
				fx.addCred(Credential{Kind: "memcached-sasl", User: redact.Text(parts[1], 64), Secret: redact.Secret(parts[2]), Detail: "password in clear (SASL PLAIN)"})
			}
		case len(val) > 0 && (b[0] == 0x80 && (op == 0x01 || op == 0x02 || op == 0x03) || b[0] == 0x81 && op == 0x00):
			fx.sample(gown.Sample{Database: "memcached", Key: key, Fields: valueFields(cmpOr(key, "value"), string(val))})
		}
		if 24+bl > len(b) {
			return
		}
		b = b[24+bl:]
	}
}
