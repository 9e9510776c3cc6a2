package traffic

import (
	"bytes"
	"encoding/binary"
	"slices"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/assess"
	"github.com/gownscan/gown/redact"
)

// facts are what the parsers learned from one connection or HAR entry.
type facts struct {
	proto     string
	tls       bool
	cleartext bool
	sni       string
	alpn      []string
	host      string // HTTP Host
	urls      []string
	creds     []Credential
	samples   []gown.Sample
	ws        [2]bool // each direction carries WebSocket frames after an upgrade
}

func (f *facts) sample(s gown.Sample) {
	if len(f.samples) < maxSamplesPerFlow && len(s.Fields) > 0 {
		f.samples = append(f.samples, s)
	}
}

// addCred keeps a credential once, at most maxPerBackend per connection (a
// keep-alive connection repeats its Authorization header on every request).
func (f *facts) addCred(c Credential) {
	if len(f.creds) < maxPerBackend && !slices.Contains(f.creds, c) {
		f.creds = append(f.creds, c)
	}
}

func (f *facts) addALPN(p string) {
	p = redact.Text(p, 64) // the peer's to choose
	if p != "" && !slices.Contains(f.alpn, p) && len(f.alpn) < 8 {
		f.alpn = append(f.alpn, p)
	}
}

// flowDone reads a connection that ended (or was evicted, or the capture
// ended) and adds what it showed to its back end.
func (a *Analyzer) flowDone(f *flow, evicted bool) {
	c, s := f.dir[0].buf, f.dir[1].buf
	if len(c) == 0 && len(s) == 0 && !f.syn {
		return // a stray packet after a connection ended
	}
	if f.udp {
		a.rep.Counts.UDPFlows++
	} else {
		a.rep.Counts.TCPFlows++
	}
	if evicted {
		a.rep.Counts.Evicted++
	}
	if f.dir[0].gap || f.dir[1].gap {
		a.rep.Counts.Gaps++
	}
	b := a.backendFor(f.server, "", f.first)
	if b == nil {
		return
	}
	var fx facts
	if f.fx != nil {
		fx = *f.fx // read while it ran: the buffers hold what came after
	} else {
		fx.proto = recognize(f.udp, c, s, f.server.Port())
	}
	switch fx.proto {
	case "tls":
		fx.tls = true
		parseTLS(c, s, &fx)
	case "http":
		parseHTTP(c, s, &fx)
	case "redis":
		parseRedis(c, s, &fx)
	case "mysql":
		parseMySQL(c, s, &fx)
	case "postgres":
		parsePostgres(c, s, &fx)
	case "mongodb":
		parseMongo(c, s, &fx)
	case "memcached":
		parseMemcached(c, s, &fx)
	case "quic":
		fx.tls = true
		parseQUIC(c, &fx)
	}
	b.b.Bytes += f.dir[0].bytes + f.dir[1].bytes
	a.apply(b, &fx, f.first)
}

// drain reads the full buffer of an HTTP connection's direction d (the
// whole messages in it), adds what they hold to the back end, and drops
// them, so that a keep-alive connection is read past its first
// StreamBytes. Other protocols are not drained: their first bytes are
// what is read of them.
func (a *Analyzer) drain(f *flow, d int) bool {
	if f.fx == nil {
		f.fx = &facts{proto: recognize(f.udp, f.dir[0].buf, f.dir[1].buf, f.server.Port())}
	}
	if f.fx.proto != "http" {
		return false
	}
	st := &f.dir[d]
	n := httpMessages(st.buf, d, true, f.fx)
	if n == 0 {
		return false
	}
	st.buf = st.buf[:copy(st.buf, st.buf[n:])]
	if len(f.fx.samples) > 0 {
		// Classified now, so that a long connection is not cut at
		// maxSamplesPerFlow records.
		if b := a.backendFor(f.server, "", f.first); b != nil {
			b.addClasses(assess.Classify(f.fx.samples))
		}
		f.fx.samples = nil
	}
	return true
}

// apply adds one connection's facts to its back end.
func (a *Analyzer) apply(b *backend, fx *facts, w Where) {
	b.b.Flows++
	switch {
	case b.b.Protocol == "", b.b.Protocol == "unknown":
		b.b.Protocol = fx.proto
	case fx.proto != "unknown" && fx.proto != b.b.Protocol && fx.proto != "":
		// A port that spoke TLS and clear text (STARTTLS, PostgreSQL's
		// SSLRequest) keeps the clear-text protocol's name.
		if b.b.Protocol == "tls" {
			b.b.Protocol = fx.proto
		}
	}
	if fx.tls {
		b.b.TLS = true
	}
	if fx.cleartext {
		b.b.Cleartext = true
	}
	if fx.sni != "" {
		b.sni = fx.sni
		b.b.Names = addName(b.b.Names, fx.sni)
	}
	if fx.host != "" {
		if b.host == "" {
			b.host = fx.host
		}
		b.b.Names = addName(b.b.Names, fx.host)
	}
	for _, p := range fx.alpn {
		if !slices.Contains(b.b.ALPN, p) && len(b.b.ALPN) < 8 {
			b.b.ALPN = append(b.b.ALPN, p)
		}
	}
	for _, u := range fx.urls {
		if !slices.Contains(b.b.URLs, u) && len(b.b.URLs) < maxPerBackend {
			b.b.URLs = append(b.b.URLs, u)
		}
	}
	if !fx.cleartext {
		return // what crossed in TLS (a HAR's decrypted bodies) is no clear-text exposure
	}
	for _, c := range fx.creds {
		c.Where = w
		a.addCredential(b, c)
	}
	if len(fx.samples) > 0 {
		b.addClasses(assess.Classify(fx.samples))
	}
}

// recognize names the protocol a connection spoke from its first bytes
// each way; the server's port only breaks ties.
func recognize(udp bool, c, s []byte, port uint16) string {
	if udp {
		switch {
		case port == 53 || port == 5353:
			return "dns"
		case len(c) >= 5 && c[0]&0xc0 == 0xc0 && binary.BigEndian.Uint32(c[1:]) != 0:
			return "quic"
		}
		return "unknown"
	}
	switch {
	case len(c) >= 3 && c[0] == 0x16 && c[1] == 3:
		return "tls"
	case isHTTPRequest(c), len(c) == 0 && bytes.HasPrefix(s, []byte("HTTP/1.")):
		return "http"
	case isMySQLGreeting(s):
		return "mysql"
	case isPostgresStart(c):
		return "postgres"
	case isMongo(c):
		return "mongodb"
	case isRedis(c, s):
		return "redis"
	case isMemcached(c):
		return "memcached"
	}
	return "unknown"
}

var httpMethods = []string{"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE ", "PRI * HTTP/2"}

func isHTTPRequest(c []byte) bool {
	for _, m := range httpMethods {
		if bytes.HasPrefix(c, []byte(m)) {
			return true
		}
	}
	return false
}
