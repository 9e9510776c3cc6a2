package memcached

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gownscan/gown"
)

func TestReadPacket(t *testing.T) {
	bad := func(s string, i int, b byte) string { return s[:i] + string([]byte{b}) + s[i+1:] }
	tests := []struct {
		name   string
		in     string
		status uint16
		value  string
		err    error
	}{
		{"mechanisms", saslMechs, statusOK, "PLAIN", nil},
		{"auth failure", resp(opSASLList, statusAuthError, "", "Auth failure."), statusAuthError, "Auth failure.", nil},
		{"text", "ERROR\r\n", 0, "", gown.ErrNotService},
		{"request magic", bad(saslMechs, 0, 0x80), 0, "", gown.ErrNotService},
		{"other opcode", bad(saslMechs, 1, opStat), 0, "", gown.ErrNotService},
		{"other opaque", bad(saslMechs, 12, 'x'), 0, "", gown.ErrNotService},
		{"key longer than body", bad(saslMechs, 3, 9), 0, "", gown.ErrProtocol},
		{"body past the cap", resp(opSASLList, 0, "", strings.Repeat("M", maxLine+1)), 0, "", gown.ErrReplyTooLarge},
		{"cut in the header", saslMechs[:10], 0, "", io.ErrUnexpectedEOF},
		{"cut in the body", saslMechs[:26], 0, "", io.ErrUnexpectedEOF},
		{"nothing", "", 0, "", io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := readPacket(bufio.NewReader(iotest.OneByteReader(strings.NewReader(tc.in))), opSASLList)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v; want %v", err, tc.err)
			}
			if err == nil && (p.status != tc.status || string(p.value) != tc.value) {
				t.Fatalf("packet status %#x value %q", p.status, p.value)
			}
		})
	}
}

func TestReadBinStats(t *testing.T) {
	st, status, err := readBinStats(bufio.NewReader(strings.NewReader(capture(t, "binstat-1.6.18.bin"))))
	if err != nil || status != statusOK {
		t.Fatalf("status %#x err %v", status, err)
	}
	if st.get("curr_items") != "40" || st.get("version") != "1.6.18" || len(st) < 80 {
		t.Fatalf("%d stats, curr_items %q", len(st), st.get("curr_items"))
	}
	_, status, err = readBinStats(bufio.NewReader(strings.NewReader(saslStatDeny)))
	if err != nil || status != statusAuthError {
		t.Fatalf("refusal: status %#x err %v", status, err)
	}
	_, _, err = readBinStats(bufio.NewReader(strings.NewReader(resp(opStat, 0, "k", "\x00") + resp(opStat, 0, "", ""))))
	if !errors.Is(err, gown.ErrProtocol) {
		t.Fatalf("control byte in a value: err %v", err)
	}
}

// FuzzBinStats feeds arbitrary bytes to the binary reader: no panic, caps
// kept, only printable stats.
func FuzzBinStats(f *testing.F) {
	f.Add([]byte(capture(f, "binstat-1.6.18.bin")))
	f.Add([]byte(saslStatDeny))
	f.Add([]byte(resp(opStat, 0, "k", "v") + resp(opStat, 0, "", "")))
	f.Add([]byte("ERROR\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		st, _, err := readBinStats(bufio.NewReader(iotest.HalfReader(strings.NewReader(string(in)))))
		if err != nil && st != nil {
			t.Fatalf("stats with error %v", err)
		}
		if len(st) > maxStats {
			t.Fatalf("%d stats kept", len(st))
		}
		for _, s := range st {
			if !printable([]byte(s.name)) || !printable([]byte(s.value)) || s.name == "" {
				t.Fatalf("bad stat %q", s)
			}
		}
	})
}
