package traffic

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gownscan/gown"
)

// FuzzRead feeds any bytes to the reader as a file: pcap, pcapng or HAR
// (seeds: the synthetic captures and HAR, and testdata/fuzz/FuzzRead).
// Nothing may panic, and the report must marshal.
func FuzzRead(f *testing.F) {
	pcap, ng := synthCapture(f)
	f.Add(pcap)
	f.Add(ng)
	f.Add([]byte(synthHAR))
	f.Add(pcap[:len(pcap)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := New(Config{StreamBytes: 4096, MaxBuffered: 1 << 20, MaxFlows: 64, MaxBackends: 64})
		if err != nil {
			t.Fatal(err)
		}
		_ = a.Read(t.Context(), bytes.NewReader(data), "fuzz")
		rep := a.Report()
		rep.Findings()
		rep.Targets([]int{6379}, gown.PartyScope{Unknown: true, Internal: true})
		Join(rep.Endpoints(), rep.Endpoints())
		if _, err := json.Marshal(rep); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzProtocols feeds both directions of a connection straight to the
// protocol readers, past the capture layer (seeds: each protocol's first
// bytes from the synthetic capture).
func FuzzProtocols(f *testing.F) {
	for _, fr := range synthFlows(0) {
		s, res := decode(LinkEthernet, fr)
		if res == decodedOK && len(s.payload) > 0 {
			f.Add(s.payload, []byte("+OK\r\n"), s.dst.Port())
		}
	}
	f.Add([]byte{0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0}, []byte{}, uint16(443))
	f.Add([]byte{}, []byte("J\x00\x00\x00\n10.11.6-MariaDB\x00"), uint16(3306))
	f.Fuzz(func(t *testing.T, c, s []byte, port uint16) {
		var fx facts
		parseTLS(c, s, &fx)
		parseHTTP(c, s, &fx)
		parseRedis(c, s, &fx)
		parseMySQL(c, s, &fx)
		parsePostgres(c, s, &fx)
		parseMongo(c, s, &fx)
		parseMemcached(c, s, &fx)
		parseDNS(c)
		parseQUIC(c, &fx)
		recognize(port&1 == 1, c, s, port)
		if len(fx.samples) > maxSamplesPerFlow*7 {
			t.Fatalf("%d samples", len(fx.samples))
		}
	})
}

var update = flag.Bool("update", false, "rewrite the fuzz seeds in testdata/fuzz")

// TestFuzzSeeds keeps the seed files of testdata/fuzz/FuzzRead what the
// synthetic captures are (go test ./traffic -run TestFuzzSeeds -update
// rewrites them): a pcap, a pcapng, a HAR, and each cut in half.
func TestFuzzSeeds(t *testing.T) {
	pcap, ng := synthCapture(t)
	seeds := map[string][]byte{"pcap": pcap, "pcapng": ng, "har": []byte(synthHAR)}
	for name, data := range map[string][]byte{"pcap": pcap, "pcapng": ng, "har": []byte(synthHAR)} {
		seeds[name+"-cut"] = data[:len(data)/2]
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzRead")
	for name, data := range seeds {
		want := "go test fuzz v1\n[]byte(" + strconv.Quote(string(data)) + ")\n"
		p := filepath.Join(dir, "seed-"+name)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (go test ./traffic -run TestFuzzSeeds -update writes it)", err)
		}
		if name != "pcap" && name != "pcap-cut" && name != "pcapng" && name != "pcapng-cut" && string(got) != want {
			// The pcap seeds hold a ClientHello with fresh randomness:
			// only the HAR seeds are compared byte for byte.
			t.Errorf("%s differs from the synthetic file: go test ./traffic -run TestFuzzSeeds -update", p)
		}
	}
}
