package traffic

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/redact"
)

// Bounds of the HTTP reader.
const (
	maxHeader   = 16 << 10  // bytes of a message's head
	maxMessages = 64        // messages read each way per connection
	maxBody     = 256 << 10 // bytes of a body classified (after gunzip)
)

// httpMsg is one HTTP/1 message head and body.
type httpMsg struct {
	first   string // request or status line
	headers [][2]string
	body    []byte
}

func (m *httpMsg) header(name string) string {
	for _, h := range m.headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

// nextHTTP reads one message from b and returns the rest. A message cut
// off by the stream cap keeps the body read so far; ok is false when no
// whole head is there, whole says the body is all there (a response
// without a length never is, until the connection ends).
func nextHTTP(b []byte, request bool) (m httpMsg, rest []byte, ok, whole bool) {
	end := bytes.Index(b[:min(len(b), maxHeader)], []byte("\r\n\r\n"))
	if end < 0 {
		return m, nil, false, false
	}
	lines := strings.Split(string(b[:end]), "\r\n")
	m.first = lines[0]
	for _, l := range lines[1:] {
		k, v, found := strings.Cut(l, ":")
		if found && len(m.headers) < 128 {
			m.headers = append(m.headers, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		}
	}
	b = b[end+4:]
	switch {
	case strings.EqualFold(m.header("Transfer-Encoding"), "chunked"):
		m.body, rest, whole = dechunk(b)
	case m.header("Content-Length") != "":
		n, err := strconv.ParseInt(m.header("Content-Length"), 10, 64)
		if err != nil || n < 0 {
			return m, nil, true, false
		}
		whole = n <= int64(len(b))
		if n > int64(len(b)) {
			n = int64(len(b))
		}
		m.body, rest = b[:n], b[n:]
	case request:
		rest, whole = b, true // a request without a length has no body
	default:
		code := 0
		if f := strings.Fields(m.first); len(f) >= 2 {
			code, _ = strconv.Atoi(f[1])
		}
		if code/100 == 1 || code == 204 || code == 304 {
			rest, whole = b, true
		} else {
			m.body = b // read until the connection closes
		}
	}
	return m, rest, true, whole
}

// dechunk decodes a chunked body as far as b holds it; whole says the
// last chunk was there.
func dechunk(b []byte) (body, rest []byte, whole bool) {
	for len(body) < maxBody {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return body, nil, false
		}
		sz, _, _ := strings.Cut(string(b[:i]), ";")
		n, err := strconv.ParseInt(strings.TrimSpace(sz), 16, 64)
		if err != nil || n < 0 {
			return body, nil, false
		}
		b = b[i+2:]
		if n == 0 {
			if j := bytes.Index(b, []byte("\r\n")); j >= 0 {
				return body, b[j+2:], true // trailers skipped
			}
			return body, nil, false
		}
		if n+2 > int64(len(b)) {
			return append(body, b[:min(int64(len(b)), n)]...), nil, false
		}
		body = append(body, b[:n]...)
		b = b[n+2:]
	}
	return body, nil, false
}

// parseHTTP reads the requests (URLs, Host, credentials, bodies) and the
// responses (bodies) of a clear-text HTTP/1 connection, and the WebSocket
// messages after an upgrade.
func parseHTTP(c, s []byte, fx *facts) {
	httpMessages(c, 0, false, fx)
	httpMessages(s, 1, false, fx)
}

// httpMessages reads the messages of direction d (0: requests, 1:
// responses) and returns the bytes it read. With wholeOnly it stops before
// a message whose body is not all there: what the flow table drains from a
// full buffer, to read on. After a WebSocket upgrade (a request asking for
// one, a 101 answer) the direction carries frames (wsFrames).
func httpMessages(b []byte, d int, wholeOnly bool, fx *facts) int {
	n := len(b)
	request := d == 0
	for i := 0; i < maxMessages && len(b) > 0; i++ {
		if fx.ws[d] {
			return n - len(b) + wsFrames(b, fx)
		}
		m, rest, ok, whole := nextHTTP(b, request)
		if !ok || wholeOnly && !whole {
			break
		}
		b = rest
		fx.cleartext = true
		if strings.EqualFold(m.header("Upgrade"), "websocket") && (request || strings.HasPrefix(m.first, "HTTP/1.1 101")) {
			fx.ws[d] = true
		}
		if !request {
			httpBody("response", m.header("Content-Type"), m.header("Content-Encoding"), m.body, fx)
			continue
		}
		f := strings.Fields(m.first)
		if len(f) < 2 {
			continue
		}
		host := m.header("Host")
		if fx.host == "" && validHost(hostOnly(host)) {
			fx.host = hostOnly(host)
		}
		target := f[1]
		if !strings.HasPrefix(target, "http://") && !strings.HasPrefix(target, "https://") {
			target = "http://" + host + target
		}
		httpRequest(f[0], target, m.headers, m.header("Content-Type"), m.header("Content-Encoding"), m.body, fx)
	}
	return n - len(b)
}

// wsFrames reads whole WebSocket frames (RFC 6455), unmasking the
// client's, classifies the text and binary messages, and returns the
// bytes read.
func wsFrames(b []byte, fx *facts) int {
	n := len(b)
	for i := 0; i < maxCommands && len(b) >= 2; i++ {
		op, masked, size, h := b[0]&0x0f, b[1]&0x80 != 0, uint64(b[1]&0x7f), 2
		switch size {
		case 126:
			if len(b) < 4 {
				return n - len(b)
			}
			size, h = uint64(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			if len(b) < 10 {
				return n - len(b)
			}
			size, h = binary.BigEndian.Uint64(b[2:]), 10
		}
		var key []byte
		if masked {
			if len(b) < h+4 {
				return n - len(b)
			}
			key, h = b[h:h+4], h+4
		}
		if size > uint64(len(b)-h) {
			return n - len(b) // cut: the rest comes in a later drain, or never
		}
		payload := b[h : h+int(size)]
		if op <= 2 && len(payload) > 0 { // continuation, text, binary
			msg := make([]byte, min(len(payload), maxBody))
			for j := range msg {
				msg[j] = payload[j]
				if masked {
					msg[j] ^= key[j%4]
				}
			}
			fx.cleartext = true
			fx.sample(gown.Sample{Database: "http", Collection: "websocket", Fields: valueFields("message", string(msg))})
		}
		b = b[h+int(size):]
	}
	return n - len(b)
}

// httpRequest records one request, from a capture or a HAR entry: its URL
// (query cut), the credentials in its headers, and what its query and body
// hold.
func httpRequest(method, raw string, headers [][2]string, ctype, cenc string, body []byte, fx *facts) {
	u, err := url.Parse(raw)
	if err == nil && u.Host != "" {
		if len(fx.urls) < maxPerBackend {
			clean := u.Scheme + "://" + u.Host + u.EscapedPath()
			if len(clean) > 512 {
				clean = clean[:512]
			}
			clean = redact.Text(clean, 512)
			if !contains(fx.urls, clean) {
				fx.urls = append(fx.urls, clean)
			}
		}
		if q := u.Query(); len(q) > 0 {
			fx.sample(gown.Sample{Database: "http", Collection: "query", Fields: valuesFields(q)})
		}
	}
	for _, h := range headers {
		switch {
		case strings.EqualFold(h[0], "Authorization"), strings.EqualFold(h[0], "Proxy-Authorization"):
			authHeader(h[1], fx)
		case strings.EqualFold(h[0], "Cookie"), strings.EqualFold(h[0], "X-Api-Key"):
			fx.sample(gown.Sample{Database: "http", Collection: "headers", Fields: []gown.Field{{Path: strings.ToLower(h[0]), Value: h[1]}}})
		}
	}
	_ = method
	httpBody("request", ctype, cenc, body, fx)
}

func contains(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func valuesFields(q url.Values) []gown.Field {
	var out []gown.Field
	for k, vs := range q {
		for _, v := range vs {
			if len(out) < flatten.MaxFields {
				out = append(out, gown.Field{Path: k, Value: v})
			}
		}
	}
	return out
}

// authHeader reads an Authorization header: Basic gives the user and a
// masked password, Bearer a masked token.
func authHeader(v string, fx *facts) {
	scheme, cred, _ := strings.Cut(strings.TrimSpace(v), " ")
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "basic":
		dec, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return
		}
		user, pass, _ := strings.Cut(string(dec), ":")
		c := Credential{Kind: "http-basic", User: redact.Text(user, 64), Secret: redact.Secret(pass)}
		if pass == "" {
			c.Detail = "empty password"
		}
		fx.addCred(c)
	case "bearer":
		c := Credential{Kind: "http-bearer", Secret: maskToken(cred)}
		fx.addCred(c)
		fx.sample(gown.Sample{Database: "http", Collection: "headers", Fields: []gown.Field{{Path: "authorization", Value: cred}}})
	}
}

// maskToken keeps a token's kind: a JWT's or a known key's prefix, else
// nothing of it.
func maskToken(t string) string {
	if t == "" {
		return ""
	}
	if m := redact.String(t); m != t {
		return m
	}
	return redact.Secret(t)
}

// httpBody classifies a message body: JSON documents by field, forms by
// field, other text as one field.
func httpBody(coll, ctype, cenc string, body []byte, fx *facts) {
	if len(body) == 0 {
		return
	}
	if strings.EqualFold(strings.TrimSpace(cenc), "gzip") {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return
		}
		body, _ = io.ReadAll(io.LimitReader(zr, maxBody))
	}
	body = body[:min(len(body), maxBody)]
	ct := strings.ToLower(ctype)
	trim := bytes.TrimSpace(body)
	switch {
	case strings.Contains(ct, "json") || len(trim) > 0 && (trim[0] == '{' || trim[0] == '['):
		if fs, err := flatten.JSON("", trim); err == nil {
			fx.sample(gown.Sample{Database: "http", Collection: coll, Fields: fs})
			return
		}
	case strings.Contains(ct, "x-www-form-urlencoded"):
		if q, err := url.ParseQuery(string(trim)); err == nil {
			fx.sample(gown.Sample{Database: "http", Collection: coll, Fields: valuesFields(q)})
			return
		}
	case strings.Contains(ct, "image/"), strings.Contains(ct, "octet-stream"), strings.Contains(ct, "font/"):
		return
	}
	fx.sample(gown.Sample{Database: "http", Collection: coll, Fields: []gown.Field{{Path: "body", Value: string(trim[:min(len(trim), flatten.MaxValue)])}}})
}

// hostOnly cuts the port from a Host header.
func hostOnly(h string) string {
	h = strings.TrimSpace(h)
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return ""
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		return h[:i]
	}
	return h
}

// validHost keeps names that could be a host: letters, digits, dots,
// hyphens and colons (IPv6), at most 253 bytes. Names the capture
// carries are the network's to choose; anything else is dropped.
func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '_') {
			return false
		}
	}
	return true
}
