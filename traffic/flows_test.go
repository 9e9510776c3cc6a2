package traffic

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// v6Frame wraps an IPv4 test frame's TCP segment in IPv6 (with a
// hop-by-hop extension header) under a Linux cooked v2 header, as
// tcpdump -i any records it.
func v6Frame(src, dst netip.AddrPort, seq uint32, flags uint8, payload []byte) []byte {
	v4 := tcpFrame(netip.AddrPortFrom(netip.MustParseAddr("10.0.0.1"), src.Port()), netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), dst.Port()), seq, 0, flags, payload)
	tcp := v4[14+20:]
	sll := make([]byte, 20)
	binary.BigEndian.PutUint16(sll, 0x86dd)
	ip := make([]byte, 40+8)
	ip[0] = 0x60
	binary.BigEndian.PutUint16(ip[4:], uint16(8+len(tcp)))
	ip[6], ip[7] = 0, 64 // hop-by-hop first
	s16, d16 := src.Addr().As16(), dst.Addr().As16()
	copy(ip[8:], s16[:])
	copy(ip[24:], d16[:])
	ip[40] = 6 // next: TCP; length 0 → 8 bytes
	return append(append(sll, ip...), tcp...)
}

// TestReassembly sends a Redis exchange out of the ordinary: the client's
// command split in three segments with a retransmission and an overlap,
// over IPv6 in SLL2 frames; then a connection with a lost segment.
func TestReassembly(t *testing.T) {
	cl, sv := netip.MustParseAddrPort("[2001:db8::2]:50000"), netip.MustParseAddrPort("[2001:db8::1]:6379")
	cmd := []byte("*2\r\n$4\r\nAUTH\r\n$11\r\nsecret-pass\r\n")
	a, _ := New(Config{})
	pk := func(link LinkType, data []byte) { a.packet(Packet{N: 1, Link: link, Data: data}) }
	pk(LinkSLL2, v6Frame(cl, sv, 100, flagSYN, nil))
	pk(LinkSLL2, v6Frame(sv, cl, 900, flagSYN|flagACK, nil))
	pk(LinkSLL2, v6Frame(cl, sv, 101, flagACK, cmd[:10]))
	pk(LinkSLL2, v6Frame(cl, sv, 101, flagACK, cmd[:10]))  // retransmitted
	pk(LinkSLL2, v6Frame(cl, sv, 106, flagACK, cmd[5:20])) // overlaps what was kept
	pk(LinkSLL2, v6Frame(cl, sv, 121, flagACK, cmd[20:]))  // the rest
	pk(LinkSLL2, v6Frame(sv, cl, 901, flagACK, []byte("+OK\r\n")))
	pk(LinkSLL2, v6Frame(cl, sv, 101+uint32(len(cmd)), flagFIN|flagACK, nil))
	pk(LinkSLL2, v6Frame(sv, cl, 906, flagFIN|flagACK, nil))
	// A second connection loses its middle segment: what follows the
	// gap is not parsed, and the gap is counted.
	cl2 := netip.MustParseAddrPort("[2001:db8::2]:50001")
	pk(LinkSLL2, v6Frame(cl2, sv, 500, flagSYN, nil))
	pk(LinkSLL2, v6Frame(cl2, sv, 501, flagACK, cmd[:10]))
	pk(LinkSLL2, v6Frame(cl2, sv, 531, flagACK, cmd[30:]))
	rep := a.Report()
	if len(rep.Backends) != 1 || rep.Backends[0].Protocol != "redis" || rep.Backends[0].Addr != "2001:db8::1" || rep.Backends[0].Flows != 2 {
		t.Fatalf("backends %+v", rep.Backends)
	}
	if len(rep.Credentials) != 1 || rep.Credentials[0].Kind != "redis-auth" || rep.Credentials[0].Backend != "[2001:db8::1]:6379" {
		t.Fatalf("credentials %+v", rep.Credentials)
	}
	if rep.Counts.Gaps != 1 || rep.Counts.TCPFlows != 2 {
		t.Errorf("counts %+v", rep.Counts)
	}
}

// TestEviction keeps memory within MaxFlows and MaxBuffered: connections
// past the caps are read early, and every one is still reported.
func TestEviction(t *testing.T) {
	a, _ := New(Config{MaxFlows: 8, MaxBuffered: 64 << 10, StreamBytes: 16 << 10})
	sv := netip.MustParseAddrPort("192.0.2.1:6379")
	for i := range 100 {
		cl := netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), uint16(30000+i))
		a.packet(Packet{N: int64(i), Link: LinkEthernet, Data: tcpFrame(cl, sv, 1, 0, flagACK, []byte("*1\r\n$4\r\nPING\r\n"))})
		if n := len(a.flows.m); n > 8 {
			t.Fatalf("%d flows open, cap 8", n)
		}
		if a.flows.buffered > 64<<10 {
			t.Fatalf("%d bytes buffered, cap 64 KiB", a.flows.buffered)
		}
	}
	rep := a.Report()
	if rep.Counts.TCPFlows != 100 || rep.Counts.Evicted != 92 || rep.Backends[0].Flows != 100 {
		t.Errorf("counts %+v, flows %d", rep.Counts, rep.Backends[0].Flows)
	}
}

// TestKeepAlive sends 300 requests and replies with personal data on one
// HTTP connection, five times the stream cap each way: the buffers are
// drained as they fill, so every message is read, in bounded memory.
func TestKeepAlive(t *testing.T) {
	var c2s, s2c []byte
	body := `{"email":"amelia.hartmann@mail.example.test","note":"` + strings.Repeat("x", 900) + `"}`
	for i := range 300 {
		c2s = append(c2s, fmt.Sprintf("POST /v1/item/%d HTTP/1.1\r\nHost: api.shop.example\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", i, len(body), body)...)
		s2c = append(s2c, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)...)
	}
	a, _ := New(Config{StreamBytes: 64 << 10})
	cl, sv := netip.MustParseAddrPort("10.0.0.2:40000"), netip.MustParseAddrPort("192.0.2.10:80")
	for _, fr := range conversation(cl, sv, c2s, s2c) {
		a.packet(Packet{Link: LinkEthernet, Data: fr})
		if a.flows.buffered > 2*(64<<10)+4096 {
			t.Fatalf("%d bytes buffered", a.flows.buffered)
		}
	}
	rep := a.Report()
	b := rep.Backends[0]
	if len(b.Classes) == 0 || b.Classes[0].Class != "email" || b.Classes[0].Records != 600 {
		t.Errorf("classes %+v, want email in 600 records (300 requests, 300 replies)", b.Classes)
	}
	if len(b.URLs) != maxPerBackend || b.URLs[0] != "http://api.shop.example/v1/item/0" {
		t.Errorf("urls %v", b.URLs)
	}
	t.Logf("%d bytes each way on one connection: %+v", len(c2s), b.Classes[0])
}

// TestHostileText sends a request whose host, path, user name and ALPN
// carry terminal escapes: nothing of them reaches the report raw.
func TestHostileText(t *testing.T) {
	user := base64.StdEncoding.EncodeToString([]byte("\x1b]0;pwned\x07:pw"))
	req := "GET /a\x1b[31mred HTTP/1.1\r\nHost: evil\x1b[2J.example\r\nAuthorization: Basic " + user + "\r\n\r\n"
	a, _ := New(Config{})
	cl, sv := netip.MustParseAddrPort("10.0.0.2:40000"), netip.MustParseAddrPort("192.0.2.10:80")
	for _, fr := range conversation(cl, sv, []byte(req), []byte("HTTP/1.1 204 No Content\r\n\r\n")) {
		a.packet(Packet{Link: LinkEthernet, Data: fr})
	}
	rep := a.Report()
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), `\u001b`) || strings.ContainsRune(string(js), 0x1b) {
		t.Errorf("an escape reached the report: %s", js)
	}
	if rep.Backends[0].Host != "192.0.2.10" || len(rep.Credentials) != 1 {
		t.Errorf("host %q (the bad Host header is dropped), credentials %+v", rep.Backends[0].Host, rep.Credentials)
	}
	t.Logf("%s", js)
}
