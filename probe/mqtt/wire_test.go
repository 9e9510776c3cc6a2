package mqtt

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/gownscan/gown"
)

func TestPackets(t *testing.T) {
	// CONNECT as the spec's example lays it out, with gown's flags.
	got := connectPacket("gown-00000000")
	want := "\x10\x19\x00\x04MQTT\x04\x02\x00\x3c\x00\x0dgown-00000000"
	if string(got) != want {
		t.Errorf("CONNECT %q, want %q", got, want)
	}
	got = subscribePacket("#", "$SYS/#")
	want = "\x82\x0f\x00\x01\x00\x01#\x00\x00\x06$SYS/#\x00"
	if string(got) != want {
		t.Errorf("SUBSCRIBE %q, want %q", got, want)
	}
	if b := appendLength(nil, 321); string(b) != "\xc1\x02" {
		t.Errorf("length 321 as %q", b)
	}
}

func TestReadPacket(t *testing.T) {
	big := append([]byte{0x30}, appendLength(nil, maxPacket+10)...)
	big = append(big, make([]byte, maxPacket+10)...)
	for _, c := range []struct {
		name, in string
		typ      byte
		err      error
	}{
		{"connack", "\x20\x02\x00\x00", typeConnack, nil},
		{"publish", "\x31\x07\x00\x03a/bhi", typePublish, nil},
		{"type 0", "\x00\x00", 0, gown.ErrNotService},
		{"length 5 bytes", "\x30\xff\xff\xff\xff\x01", 0, gown.ErrNotService},
		{"short", "\x20\x02\x00", 0, io.ErrUnexpectedEOF},
		{"oversized skipped", string(big), typePublish, nil},
	} {
		p, err := readPacket(bufio.NewReader(iotest.HalfReader(strings.NewReader(c.in))))
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: error %v, want %v", c.name, err, c.err)
			}
			continue
		}
		if err != nil || p.typ != c.typ {
			t.Errorf("%s: %+v, %v", c.name, p.typ, err)
		}
	}
}

func TestFirstReply(t *testing.T) {
	for in, want := range map[string]error{
		"\x20\x02\x00\x00":             nil,
		"HTTP/1.1 400 Bad Request\r\n": gown.ErrNotService,
		"-ERR unknown command\r\n":     gown.ErrNotService,
		"\x90\x03\x00\x01\x00":         gown.ErrNotService,
		"":                             io.EOF,
	} {
		_, err := readConnack(bufio.NewReader(strings.NewReader(in)))
		if !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("%q: error %v, want %v", in, err, want)
		}
	}
}

func TestParse(t *testing.T) {
	ca, err := parseConnack(packet{typ: typeConnack, length: 2, body: []byte{0, 5}})
	if err != nil || ca.code != 5 || connackText(ca.code) != "not authorized" {
		t.Errorf("CONNACK 5: %+v %v", ca, err)
	}
	if _, err := parseConnack(packet{typ: typeSuback, length: 2, body: []byte{0, 0}}); !errors.Is(err, gown.ErrNotService) {
		t.Errorf("SUBACK for CONNACK: %v", err)
	}
	codes, err := parseSuback(packet{typ: typeSuback, length: 4, body: []byte{0, 1, 0x80, 0}}, 2)
	if err != nil || !bytes.Equal(codes, []byte{0x80, 0}) {
		t.Errorf("SUBACK: %v %v", codes, err)
	}
	if _, err := parseSuback(packet{typ: typeSuback, length: 4, body: []byte{0, 1, 7, 0}}, 2); !errors.Is(err, gown.ErrProtocol) {
		t.Errorf("SUBACK code 7: %v", err)
	}
	m, err := parsePublish(packet{typ: typePublish, flags: 0x03, body: []byte("\x00\x03a/b\x00\x09hi")})
	if err != nil || m.topic != "a/b" || string(m.payload) != "hi" || !m.retain {
		t.Errorf("QoS 1 PUBLISH: %+v %v", m, err)
	}
	if _, err := parsePublish(packet{typ: typePublish, body: []byte("\x00\x09a/b")}); !errors.Is(err, gown.ErrProtocol) {
		t.Errorf("topic past the end: %v", err)
	}
	if database("vehicles/truck-1/location") != "vehicles" || database("/x") != "/" || database("$SYS/broker") != "$SYS" {
		t.Error("database of a topic")
	}
}

// FuzzSession feeds arbitrary broker bytes to the packet reader and the
// parsers, as the probe reads them: nothing may panic, nothing kept may
// exceed maxPacket, and every topic kept is valid UTF-8.
func FuzzSession(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.bin"))
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\x20\x02\x00\x00\x90\x04\x00\x01\x00\x00\x31\x07\x00\x03a/bhi\xd0\x00"))
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReader(iotest.HalfReader(bytes.NewReader(in)))
		l := &listening{topics: map[string]int{}}
		for range 1000 {
			p, err := readPacket(br)
			if err != nil {
				return
			}
			if len(p.body) > maxPacket {
				t.Fatalf("kept %d bytes", len(p.body))
			}
			switch p.typ {
			case typeConnack:
				parseConnack(p)
			case typeSuback:
				parseSuback(p, 2)
			case typePublish:
				if err := l.add(p, nil); err == nil {
					for topic := range l.topics {
						if topic == "" || !utf8.ValidString(topic) {
							t.Fatalf("topic %q", topic)
						}
					}
				}
			}
		}
		var r gown.Result
		l.inventory(&r)
	})
}
