package traffic

import (
	"encoding/hex"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestQUICInitial decrypts RFC 9001 Appendix A.2's protected client
// Initial (testdata/quic-rfc9001-a2.hex, the RFC's own test vector) and
// reads its ClientHello: SNI example.com, ALPN "alpn".
func TestQUICInitial(t *testing.T) {
	raw, err := os.ReadFile("testdata/quic-rfc9001-a2.hex")
	if err != nil {
		t.Fatal(err)
	}
	pkt, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(pkt) != 1200 {
		t.Fatalf("vector: %d bytes, %v", len(pkt), err)
	}
	var fx facts
	parseQUIC(pkt, &fx)
	if fx.sni != "example.com" || !slices.Equal(fx.alpn, []string{"alpn"}) {
		t.Fatalf("sni %q alpn %v", fx.sni, fx.alpn)
	}
	// Through the flow table, as a UDP datagram to port 443.
	a, _ := New(Config{})
	cl, sv := netip.MustParseAddrPort("10.0.0.2:51000"), netip.MustParseAddrPort("192.0.2.40:443")
	a.flows.add(segment{src: cl, dst: sv, udp: true, payload: pkt}, Where{File: "quic", Packet: 1})
	rep := a.Report()
	if b := rep.Backends[0]; b.Protocol != "quic" || b.Host != "example.com" || !b.TLS || b.Cleartext {
		t.Errorf("backend %+v", b)
	}
	// A corrupted packet gives nothing, and no panic.
	bad := slices.Clone(pkt)
	bad[len(bad)-1] ^= 1
	var fx2 facts
	parseQUIC(bad, &fx2)
	if fx2.sni != "" {
		t.Errorf("a corrupted packet decrypted: %q", fx2.sni)
	}
}
