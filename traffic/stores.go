package traffic

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/redact"
)

// Bounds of the store protocol readers.
const (
	maxCommands = 4096 // commands or packets read each way per connection
	maxStrings  = 1024 // strings read from one RESP value
)

// valueFields makes fields of one stored value: a JSON document by its
// fields, anything else as one field named path.
func valueFields(path, v string) []gown.Field {
	t := strings.TrimSpace(v)
	if len(t) > 1 && (t[0] == '{' || t[0] == '[') {
		if fs, err := flatten.JSON(path, []byte(t)); err == nil {
			return fs
		}
	}
	return []gown.Field{{Path: path, Value: v[:min(len(v), flatten.MaxValue)]}}
}

// ---- Redis: RESP2/RESP3 and inline commands ----

func isRedis(c, s []byte) bool {
	if len(c) >= 4 && c[0] == '*' && c[1] >= '0' && c[1] <= '9' {
		return true
	}
	if len(s) > 0 && bytes.IndexByte([]byte("+-$*:%_#,(=~>|"), s[0]) >= 0 && len(c) > 0 {
		word, _, _ := strings.Cut(strings.ToUpper(firstLine(c)), " ")
		switch word {
		case "PING", "AUTH", "INFO", "HELLO", "GET", "SET", "KEYS", "SCAN", "SELECT", "DBSIZE", "CONFIG", "CLIENT", "QUIT":
			return true
		}
	}
	return false
}

func firstLine(b []byte) string {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		i = len(b)
	}
	return strings.TrimRight(string(b[:min(i, 256)]), "\r")
}

// respRead reads one RESP value at b and appends the strings it holds
// (bulk, simple, verbatim; aggregates flattened) to out.
func respRead(b []byte, depth int, out *[]string) ([]byte, bool) {
	if len(b) == 0 || depth > 8 {
		return nil, false
	}
	i := bytes.Index(b, []byte("\r\n"))
	if i < 1 {
		return nil, false
	}
	typ, line, b := b[0], string(b[1:i]), b[i+2:]
	put := func(s string) {
		if len(*out) < maxStrings {
			*out = append(*out, s)
		}
	}
	switch typ {
	case '+', '-', ':', ',', '(', '#', '_':
		if typ == '+' || typ == '-' {
			put(line)
		}
		return b, true
	case '$', '=', '!':
		n, err := strconv.Atoi(line)
		if err != nil {
			return nil, false
		}
		if n < 0 {
			return b, true
		}
		if n > len(b) {
			put(string(b)) // cut by the stream cap
			return nil, false
		}
		put(string(b[:n]))
		if n+2 > len(b) {
			return nil, false
		}
		return b[n+2:], true
	case '*', '~', '>', '%', '|':
		n, err := strconv.Atoi(line)
		if err != nil {
			return nil, false
		}
		if typ == '%' || typ == '|' {
			n *= 2
		}
		if n > maxStrings {
			return nil, false
		}
		for k := 0; k < n; k++ {
			var ok bool
			if b, ok = respRead(b, depth+1, out); !ok {
				return nil, false
			}
		}
		return b, true
	}
	return nil, false
}

// parseRedis reads the commands a client sent (AUTH and HELLO credentials,
// the values it wrote) and the values the server returned.
func parseRedis(c, s []byte, fx *facts) {
	for i := 0; i < maxCommands && len(c) > 0; i++ {
		var args []string
		if c[0] == '*' {
			rest, ok := respRead(c, 0, &args)
			redisCommand(args, fx)
			if !ok {
				break
			}
			c = rest
			continue
		}
		j := bytes.IndexByte(c, '\n')
		if j < 0 {
			break
		}
		redisCommand(strings.Fields(string(c[:j])), fx)
		c = c[j+1:]
	}
	for i := 0; i < maxCommands && len(s) > 0; i++ {
		var vals []string
		rest, ok := respRead(s, 0, &vals)
		for _, v := range vals {
			if len(v) > 0 && !strings.HasPrefix(v, "# Server") { // INFO's own text is no record
				fx.sample(gown.Sample{Database: "redis", Collection: "reply", Fields: valueFields("value", v)})
			}
		}
		if !ok {
			break
		}
		s = rest
	}
}

func redisCommand(args []string, fx *facts) {
	if len(args) == 0 {
		return
	}
	fx.cleartext = true
	switch cmd := strings.ToUpper(args[0]); cmd {
	case "AUTH":
		c := Credential{Kind: "redis-auth"}
		switch len(args) {
		case 2:
			c.Secret = redact.Secret(args[1])
		case 3:
			c.User, c.Secret = redact.Text(args[1], 64), redact.Secret(args[2])
		default:
			return
		}
		c.Detail = "password in clear"
		fx.addCred(c)
	case "HELLO":
		for i := 1; i+2 < len(args); i++ {
			if strings.EqualFold(args[i], "AUTH") {
				fx.addCred(Credential{Kind: "redis-auth", User: redact.Text(args[i+1], 64), Secret: redact.Secret(args[i+2]), Detail: "password in clear (HELLO AUTH)"})
				break
			}
		}
	case "SET", "SETNX", "SETEX", "PSETEX", "GETSET", "APPEND", "LPUSH", "RPUSH", "LPUSHX", "RPUSHX", "SADD", "ZADD", "PUBLISH", "LSET", "SETRANGE":
		if len(args) >= 3 {
			var fs []gown.Field
			for _, v := range args[2:] {
				fs = append(fs, valueFields(args[1], v)...)
			}
			fx.sample(gown.Sample{Database: "redis", Key: args[1], Fields: fs})
		}
	case "HSET", "HMSET", "HSETNX", "MSET", "MSETNX":
		pairs := args[1:]
		key := ""
		if cmd[0] == 'H' {
			if len(args) < 2 {
				return
			}
			key, pairs = args[1], args[2:]
		}
		var fs []gown.Field
		for i := 0; i+1 < len(pairs); i += 2 {
			fs = append(fs, valueFields(pairs[i], pairs[i+1])...)
		}
		fx.sample(gown.Sample{Database: "redis", Key: key, Fields: fs})
	}
}

// ---- MySQL / MariaDB client/server protocol ----

// MySQL capability flags.
const (
	capConnectWithDB  = 0x8
	capProtocol41     = 0x200
	capSSL            = 0x800
	capSecureConn     = 0x8000
	capPluginAuth     = 0x80000
	capAuthLenenc     = 0x200000
	capDeprecateEOF   = 0x1000000
	mysqlMaxColumns   = 256
	mysqlMaxRowFields = 256
)

func isMySQLGreeting(s []byte) bool {
	if len(s) < 7 || s[3] != 0 {
		return false
	}
	n := int(s[0]) | int(s[1])<<8 | int(s[2])<<16
	if n < 3 {
		return false
	}
	switch s[4] {
	case 10:
		return bytes.IndexByte(s[5:min(len(s), 5+n)], 0) > 0
	case 0xff: // refused before the greeting: host not allowed
		return s[5] == 0x69 && s[6] == 0x04 || s[5] == 0x6a && s[6] == 0x04 // 1129, 1130
	}
	return false
}

// mysqlPackets splits b into packet payloads (a packet cut by the stream
// cap keeps what was read).
func mysqlPackets(b []byte) (out []mysqlPacket) {
	for len(b) >= 4 && len(out) < maxCommands {
		n := int(b[0]) | int(b[1])<<8 | int(b[2])<<16
		seq := b[3]
		b = b[4:]
		if n > len(b) {
			out = append(out, mysqlPacket{seq, b, true})
			return out
		}
		out = append(out, mysqlPacket{seq, b[:n], false})
		b = b[n:]
	}
	return out
}

type mysqlPacket struct {
	seq  byte
	data []byte
	cut  bool
}

// cstr reads a NUL-terminated string.
func cstr(b []byte) (string, []byte, bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", nil, false
	}
	return string(b[:i]), b[i+1:], true
}

// lenenc reads a length-encoded integer; null is set for 0xfb.
func lenenc(b []byte) (v uint64, rest []byte, null, ok bool) {
	if len(b) == 0 {
		return 0, nil, false, false
	}
	switch c := b[0]; {
	case c < 0xfb:
		return uint64(c), b[1:], false, true
	case c == 0xfb:
		return 0, b[1:], true, true
	case c == 0xfc && len(b) >= 3:
		return uint64(b[1]) | uint64(b[2])<<8, b[3:], false, true
	case c == 0xfd && len(b) >= 4:
		return uint64(b[1]) | uint64(b[2])<<8 | uint64(b[3])<<16, b[4:], false, true
	case c == 0xfe && len(b) >= 9:
		var v uint64
		for i := 8; i >= 1; i-- {
			v = v<<8 | uint64(b[i])
		}
		return v, b[9:], false, true
	}
	return 0, nil, false, false
}

func lenencStr(b []byte) (string, []byte, bool) {
	n, b, null, ok := lenenc(b)
	if !ok || null {
		return "", b, ok
	}
	if n > uint64(len(b)) {
		return "", nil, false
	}
	return string(b[:n]), b[n:], true
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// parseMySQL reads the login (user, plugin, whether a password was given,
// the outcome), the queries and the rows of the result sets.
func parseMySQL(c, s []byte, fx *facts) {
	sp, cp := mysqlPackets(s), mysqlPackets(c)
	if len(sp) == 0 || len(sp[0].data) < 1 || sp[0].data[0] != 10 {
		return
	}
	// The greeting: version, connection id, nonce, capabilities, plugin.
	g := sp[0].data[1:]
	_, g, ok := cstr(g)
	var serverCaps uint32
	plugin := ""
	if ok && len(g) >= 4+8+1+2 {
		serverCaps = uint32(g[13]) | uint32(g[14])<<8
		g = g[15:]
		if len(g) >= 16 {
			serverCaps |= uint32(g[3])<<16 | uint32(g[4])<<24
			authLen := int(g[5])
			g = g[16:]
			if serverCaps&capSecureConn != 0 {
				n := max(13, authLen-8)
				if n <= len(g) {
					g = g[n:]
					if serverCaps&capPluginAuth != 0 {
						plugin, _, _ = cstr(g)
					}
				}
			}
		}
	}
	var clientCaps uint32
	if len(cp) > 0 && len(cp[0].data) >= 32 {
		p := cp[0].data
		clientCaps = le32(p)
		if clientCaps&capSSL != 0 && len(p) == 32 {
			fx.tls = true // TLS follows: nothing more is clear
			return
		}
		if clientCaps&capProtocol41 != 0 {
			mysqlLogin(p[32:], clientCaps, plugin, sp[1:], fx)
		}
		cp = cp[1:]
	}
	deprecateEOF := clientCaps&serverCaps&capDeprecateEOF != 0
	for _, p := range cp {
		if p.seq == 0 && len(p.data) > 1 && (p.data[0] == 0x03 || p.data[0] == 0x16) { // COM_QUERY, COM_STMT_PREPARE
			fx.cleartext = true
			q := string(p.data[1:])
			fx.sample(gown.Sample{Database: "mysql", Collection: "query", Fields: []gown.Field{{Path: "query", Value: q[:min(len(q), flatten.MaxValue)]}}})
		}
	}
	mysqlResults(sp[1:], deprecateEOF, fx)
}

// mysqlLogin reads a HandshakeResponse41 after its fixed 32 bytes.
func mysqlLogin(p []byte, caps uint32, plugin string, replies []mysqlPacket, fx *facts) {
	user, p, ok := cstr(p)
	if !ok {
		return
	}
	var auth []byte
	switch {
	case caps&capAuthLenenc != 0:
		n, rest, _, ok2 := lenenc(p)
		if !ok2 || n > uint64(len(rest)) {
			return
		}
		auth, p = rest[:n], rest[n:]
	case caps&capSecureConn != 0:
		if len(p) < 1 || 1+int(p[0]) > len(p) {
			return
		}
		auth, p = p[1:1+int(p[0])], p[1+int(p[0]):]
	default:
		var s string
		s, p, _ = cstr(p)
		auth = []byte(s)
	}
	if caps&capConnectWithDB != 0 {
		_, p, _ = cstr(p)
	}
	if caps&capPluginAuth != 0 && p != nil {
		if pl, _, ok := cstr(p); ok && pl != "" {
			plugin = pl
		}
	}
	plugin = redact.Text(plugin, 64) // the server's or client's to choose
	fx.cleartext = true
	c := Credential{Kind: "mysql-login", User: redact.Text(user, 64)}
	switch {
	case len(auth) == 0:
		c.Detail = "empty password"
	case plugin == "mysql_clear_password":
		c.Secret, c.Detail = redact.Secret(string(auth)), "password in clear (mysql_clear_password)"
	default:
		c.Detail = cmpOr(plugin, "mysql_native_password") + " response (crackable offline with the greeting's nonce)"
	}
	for _, r := range replies {
		if len(r.data) == 0 {
			continue
		}
		if r.data[0] == 0x00 {
			c.Detail += ", accepted"
			break
		}
		if r.data[0] == 0xff {
			c.Detail += ", refused"
			break
		}
	}
	fx.addCred(c)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// mysqlResults walks the server's packets after the greeting: the end of
// authentication, then result sets (column definitions, rows).
func mysqlResults(ps []mysqlPacket, deprecateEOF bool, fx *facts) {
	const (
		auth = iota
		idle
		columns
		rows
	)
	state := auth
	var names []string
	var table string
	want, eofPending := 0, false
	for _, p := range ps {
		d := p.data
		if len(d) == 0 {
			continue
		}
		switch state {
		case auth:
			if d[0] == 0x00 || d[0] == 0xff {
				state = idle
			}
		case idle:
			if d[0] == 0x00 || d[0] == 0xff || d[0] == 0xfb || d[0] == 0xfe {
				continue
			}
			n, _, _, ok := lenenc(d)
			if !ok || n == 0 || n > mysqlMaxColumns {
				continue
			}
			want, names, table, state = int(n), names[:0], "", columns
		case columns:
			var f [6]string
			rest := d
			for i := range f {
				var ok bool
				if f[i], rest, ok = lenencStr(rest); !ok {
					break
				}
			}
			if table == "" {
				table = f[2]
			}
			names = append(names, f[4])
			if len(names) == want {
				state, eofPending = rows, !deprecateEOF
			}
		case rows:
			if d[0] == 0xfe && len(d) < 0xffffff {
				if eofPending {
					eofPending = false
					continue
				}
				state = idle
				continue
			}
			if d[0] == 0xff {
				state = idle
				continue
			}
			eofPending = false
			var fs []gown.Field
			rest := d
			for i := 0; i < len(names) && i < mysqlMaxRowFields; i++ {
				v, r, ok := lenencStr(rest)
				if !ok {
					break
				}
				rest = r
				fs = append(fs, valueFields(names[i], v)...)
			}
			fx.sample(gown.Sample{Database: "mysql", Collection: table, Fields: fs})
		}
	}
}
