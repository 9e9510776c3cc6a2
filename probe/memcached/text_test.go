package memcached

import (
	"bufio"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gownscan/gown"
)

func TestReadStats(t *testing.T) {
	long := strings.Repeat("x", maxLine)
	tests := []struct {
		name string
		in   string
		want stats
		err  error // errors.Is target; nil for success
		ref  string
		not  bool // an *errNotText
	}{
		{"two stats", "STAT pid 1\r\nSTAT version 1.6.18\r\nEND\r\n", stats{{"pid", "1"}, {"version", "1.6.18"}}, nil, "", false},
		{"value with spaces", "STAT libevent 2.1.12 stable\r\nEND\r\n", stats{{"libevent", "2.1.12 stable"}}, nil, "", false},
		{"empty value", "STAT domain_socket\r\nEND\r\n", stats{{"domain_socket", ""}}, nil, "", false},
		{"bare LF line ends", "STAT pid 1\nEND\n", stats{{"pid", "1"}}, nil, "", false},
		{"no stats", "END\r\n", nil, nil, "", false},
		{"ERROR", "ERROR\r\n", nil, nil, "ERROR", false},
		{"ascii auth", "CLIENT_ERROR unauthenticated\r\n", nil, nil, "CLIENT_ERROR unauthenticated", false},
		{"SERVER_ERROR", "SERVER_ERROR out of memory\r\n", nil, nil, "SERVER_ERROR out of memory", false},
		{"ERRORS is not ERROR", "ERRORS\r\n", nil, gown.ErrNotService, "", true},
		{"Redis", "-ERR unknown command 'stats'\r\n", nil, gown.ErrNotService, "", true},
		{"STAT without a name", "STAT \r\nEND\r\n", nil, gown.ErrNotService, "", true},
		{"control byte in a value", "STAT a b\x00c\r\nEND\r\n", nil, gown.ErrNotService, "", true},
		{"TLS alert, then EOF", "\x15\x03\x01\x00\x02\x02\x46", nil, gown.ErrNotService, "", true},
		{"cut short in a STAT line", "STAT pid 1\r\nSTAT ver", nil, io.ErrUnexpectedEOF, "", false},
		{"cut short in the first line", "STA", nil, io.ErrUnexpectedEOF, "", false},
		{"no END", "STAT pid 1\r\n", nil, io.EOF, "", false},
		{"nothing", "", nil, io.EOF, "", false},
		{"junk after STAT lines", "STAT pid 1\r\nbogus\r\n", nil, gown.ErrProtocol, "", false},
		{"error after STAT lines", "STAT pid 1\r\nERROR\r\n", nil, gown.ErrProtocol, "", false},
		{"line at the cap", "STAT k " + long[:maxLine-9] + "\r\nEND\r\n", stats{{"k", long[:maxLine-9]}}, nil, "", false},
		{"line past the cap", "STAT k " + long + "\r\nEND\r\n", nil, gown.ErrReplyTooLarge, "", false},
		{"garbage past the cap", strings.Repeat("\xff", 3*maxLine), nil, gown.ErrNotService, "", true},
		{"too many lines", strings.Repeat("STAT a 1\r\n", maxStats+1) + "END\r\n", nil, gown.ErrReplyTooLarge, "", false},
		{"lines at the cap", strings.Repeat("STAT a 1\r\n", maxStats) + "END\r\n", slices.Repeat(stats{{"a", "1"}}, maxStats), nil, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One byte at a time, so that no test passes by a lucky read size.
			got, err := readStats(newReader(iotest.OneByteReader(strings.NewReader(tc.in))))
			var ref *refusal
			var nt *errNotText
			switch {
			case tc.ref != "":
				if !errors.As(err, &ref) || ref.Error() != tc.ref {
					t.Fatalf("err = %v; want refusal %q", err, tc.ref)
				}
			case tc.err != nil:
				if !errors.Is(err, tc.err) || errors.As(err, &nt) != tc.not {
					t.Fatalf("err = %v (%T); want %v", err, err, tc.err)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("stats = %q; want %q", got, tc.want)
			}
		})
	}
}

func TestReadStatsCaptured(t *testing.T) {
	for _, name := range []string{"stats-1.6.18.txt", "settings-1.6.18.txt"} {
		st, err := readStats(newReader(strings.NewReader(capture(t, name))))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(st) < 70 {
			t.Fatalf("%s: %d stats", name, len(st))
		}
	}
	st, _ := readStats(newReader(strings.NewReader(capture(t, "stats-1.6.18.txt"))))
	if st.get("curr_items") != "40" || st.get("libevent") != "2.1.12-stable" || st.get("nope") != "" {
		t.Fatalf("get: %q %q", st.get("curr_items"), st.get("libevent"))
	}
}

func TestDescribe(t *testing.T) {
	tests := map[string]string{
		"":                        "nothing",
		"-ERR unknown command":    "a Redis error",
		"-NOAUTH Authentication":  "a Redis error",
		"*1\r\n":                  "a RESP reply",
		"HTTP/1.0 400":            "HTTP",
		"\x16\x03\x03\x00":        "a TLS record",
		"SSH-2.0-OpenSSH_9.2\r\n": "a text line",
		"\x00\x01":                "binary data",
	}
	for in, want := range tests {
		if got := describe([]byte(in)); got != want {
			t.Errorf("describe(%q) = %q; want %q", in, got, want)
		}
	}
}

// FuzzStats feeds arbitrary replies to the text parser: it must never panic,
// never keep more than the caps, and keep only printable stats. Its seeds,
// real captures among them, are in testdata/fuzz/FuzzStats.
func FuzzStats(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReaderSize(iotest.HalfReader(strings.NewReader(string(in))), maxLine)
		st, err := readStats(br)
		if err != nil && st != nil {
			t.Fatalf("stats %q returned with error %v", st, err)
		}
		if len(st) > maxStats {
			t.Fatalf("%d stats kept, cap %d", len(st), maxStats)
		}
		for _, s := range st {
			if s.name == "" || !printable([]byte(s.name)) || !printable([]byte(s.value)) || len(s.name)+len(s.value) > maxLine {
				t.Fatalf("bad stat %q", s)
			}
		}
		var ref *refusal
		var nt *errNotText
		if errors.As(err, &ref) && !strings.HasPrefix(string(in), ref.kind) {
			t.Fatalf("refusal %q from %q", ref, in)
		}
		if errors.As(err, &nt) && len(nt.head) > 32 {
			t.Fatalf("head of %d bytes kept", len(nt.head))
		}
	})
}
