package traffic

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/gopacket/pcapgo"
	"github.com/gownscan/gown"
)

// synthCapture is one round of synthFlows as a pcap and as a pcapng file.
func synthCapture(t testing.TB) (pcap, ng []byte) {
	frames := synthFlows(0)
	var b bytes.Buffer
	if err := writePcap(&b, frames, 0); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), pcapngFile(frames)
}

func readReport(t *testing.T, data []byte, name string) (*Report, error) {
	t.Helper()
	a, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Read(t.Context(), bytes.NewReader(data), name)
	return a.Report(), err
}

// TestSynthetic reads the same traffic as pcap, pcapng and (the HTTP part)
// HAR: every protocol reader and the findings.
func TestSynthetic(t *testing.T) {
	pcap, ng := synthCapture(t)
	for name, data := range map[string][]byte{"app.pcap": pcap, "app.pcapng": ng} {
		rep, err := readReport(t, data, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		by := map[int]Backend{}
		for _, b := range rep.Backends {
			by[b.Port] = b
		}
		if b := by[80]; b.Host != "api.shop.example" || b.Protocol != "http" || !slices.Contains(sensitive(b), "email") {
			t.Errorf("%s: http %+v", name, b)
		}
		if b := by[443]; b.Host != "secure.shop.example" || b.Protocol != "tls" || !slices.Equal(b.ALPN, []string{"h2", "http/1.1"}) {
			t.Errorf("%s: tls %+v", name, b)
		}
		for port, proto := range map[int]string{6379: "redis", 5432: "postgres", 11211: "memcached", 53: "dns"} {
			if by[port].Protocol != proto {
				t.Errorf("%s: port %d spoke %q, want %s", name, port, by[port].Protocol, proto)
			}
		}
		var kinds []string
		for _, c := range rep.Credentials {
			kinds = append(kinds, c.Kind+"/"+c.User+"/"+c.Secret)
		}
		slices.Sort(kinds)
		want := []string{"http-basic/shopper/[REDACTED]", "postgres-login/app/[REDACTED]", "redis-auth//[REDACTED]"}
		if !slices.Equal(kinds, want) {
			t.Errorf("%s: credentials %v, want %v", name, kinds, want)
		}
		if rep.Counts.DNS != 2 || rep.Counts.TCPFlows != 5 || len(rep.DNS) != 2 || rep.DNS[1].Name != "config.shop.example" || rep.DNS[1].Addrs[0] != "192.0.2.30" {
			t.Errorf("%s: counts %+v, dns %+v", name, rep.Counts, rep.DNS)
		}
		// The name resolved but never connected to is a back end too:
		// an endpoint without a port, probed on the store ports at the
		// address DNS gave, and joined with an app that names it.
		// No app's identity is given here: the names are unknown, probed
		// only when the scope takes unknown hosts.
		if d := rep.DNS[1]; d.Party != gown.PartyUnknown || d.FirstParty {
			t.Errorf("%s: the DNS-only name's party %q, first %v", name, d.Party, d.FirstParty)
		}
		if ts := rep.Targets([]int{6379}, gown.PartyScope{}); len(ts) != 0 {
			t.Errorf("%s: targets %v of unknown hosts without the scope asking", name, ts)
		}
		var onlyDNS []string
		for _, tg := range rep.Targets([]int{6379}, gown.PartyScope{Unknown: true}) {
			if tg.Host == "config.shop.example" {
				onlyDNS = append(onlyDNS, tg.Dial())
			}
		}
		if !slices.Equal(onlyDNS, []string{"192.0.2.30:6379"}) {
			t.Errorf("%s: targets of the DNS-only name %v", name, onlyDNS)
		}
		rows := Join([]gown.Endpoint{{Kind: gown.KindURL, Value: "https://config.shop.example/v1", Host: "config.shop.example", Port: 443}}, rep.Endpoints())
		if rows[0].Seen != SeenBoth || rows[0].Host != "config.shop.example" {
			t.Errorf("%s: join %+v", name, rows[0])
		}
	}
	rep, err := readReport(t, []byte(synthHAR), "app.har")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Backends) != 2 || rep.Backends[0].Addr != "192.0.2.10" || !rep.Backends[0].Cleartext || rep.Backends[1].Cleartext ||
		!slices.Contains(sensitive(rep.Backends[0]), "phone") || len(rep.Credentials) != 1 || rep.Credentials[0].Kind != "http-bearer" {
		t.Errorf("har: %+v", rep)
	}
}

// TestTruncated cuts the capture at every byte: a clear error wrapping
// ErrTruncated (or a header error), and what came before is kept.
func TestTruncated(t *testing.T) {
	pcap, ng := synthCapture(t)
	for name, data := range map[string][]byte{"pcap": pcap, "pcapng": ng, "har": []byte(synthHAR)} {
		full, _ := readReport(t, data, name)
		for cut := len(data) - 1; cut > 24; cut -= 7 {
			rep, err := readReport(t, data[:cut], name)
			if err == nil {
				continue // a pcap cut between two records is whole
			}
			if !errors.Is(err, ErrTruncated) && !strings.Contains(err.Error(), "HAR") {
				t.Fatalf("%s cut at %d: %v, want ErrTruncated", name, cut, err)
			}
			if rep.Counts.Packets > full.Counts.Packets {
				t.Fatalf("%s cut at %d: more packets than the whole", name, cut)
			}
		}
		// Cut mid-way: half the packets are kept.
		rep, err := readReport(t, data[:len(data)/2], name)
		if err == nil || (name != "har" && rep.Counts.Packets == 0) {
			t.Errorf("%s cut in half: %v, %d packets", name, err, rep.Counts.Packets)
		}
		t.Logf("%s cut in half: %v; %d packets, %d back ends kept", name, err, rep.Counts.Packets, len(rep.Backends))
	}
}

// TestAgainstPcapgo reads the same files with gopacket's pcapgo: same
// packets, same timestamps, same bytes. The tcpdump capture of
// TestCaptureBed is checked too when GOWN_TRAFFIC_PCAP names one.
func TestAgainstPcapgo(t *testing.T) {
	pcap, ng := synthCapture(t)
	files := map[string][]byte{"synth.pcap": pcap, "synth.pcapng": ng}
	if p := os.Getenv("GOWN_TRAFFIC_PCAP"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(p)] = b
	}
	for name, data := range files {
		ours, err := NewPacketReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		var next func() ([]byte, int64, error)
		if strings.HasSuffix(name, "ng") {
			r, err := pcapgo.NewNgReader(bytes.NewReader(data), pcapgo.DefaultNgReaderOptions)
			if err != nil {
				t.Fatal(err)
			}
			next = func() ([]byte, int64, error) {
				d, ci, err := r.ReadPacketData()
				return d, ci.Timestamp.UnixNano(), err
			}
		} else {
			r, err := pcapgo.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			next = func() ([]byte, int64, error) {
				d, ci, err := r.ReadPacketData()
				return d, ci.Timestamp.UnixNano(), err
			}
		}
		n := 0
		for {
			p, err1 := ours.Next()
			d, ts, err2 := next()
			if err1 == io.EOF || err2 == io.EOF {
				if err1 != err2 {
					t.Fatalf("%s packet %d: ours %v, pcapgo %v", name, n+1, err1, err2)
				}
				break
			}
			if err1 != nil || err2 != nil {
				t.Fatalf("%s packet %d: ours %v, pcapgo %v", name, n+1, err1, err2)
			}
			n++
			if !bytes.Equal(p.Data, d) || p.Time.UnixNano() != ts {
				t.Fatalf("%s packet %d differs: %d bytes at %d, pcapgo %d bytes at %d", name, n, len(p.Data), p.Time.UnixNano(), len(d), ts)
			}
		}
		t.Logf("%s: %d packets read alike by both readers", name, n)
	}
}
