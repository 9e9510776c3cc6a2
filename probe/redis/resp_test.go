package redis

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/gownscan/gown"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want reply
		err  error // checked with errors.Is
	}{
		{"simple", "+PONG\r\n", reply{kind: '+', text: "PONG"}, nil},
		{"error", "-NOAUTH Authentication required.\r\n", reply{kind: '-', text: "NOAUTH Authentication required."}, nil},
		{"integer", ":42\r\n", reply{kind: ':', num: 42}, nil},
		{"negative integer", ":-3\r\n", reply{kind: ':', num: -3}, nil},
		{"bulk", "$5\r\nhello\r\n", reply{kind: '$', text: "hello"}, nil},
		{"empty bulk", "$0\r\n\r\n", reply{kind: '$'}, nil},
		{"bulk with CRLF inside", "$4\r\na\r\nb\r\n", reply{kind: '$', text: "a\r\nb"}, nil},
		{"null bulk", "$-1\r\n", reply{kind: '$', null: true}, nil},
		{"null array", "*-1\r\n", reply{kind: '*', null: true}, nil},
		{"array", "*2\r\n:1\r\n$1\r\nx\r\n", reply{kind: '*', elems: []reply{{kind: ':', num: 1}, {kind: '$', text: "x"}}}, nil},
		{"nested", "*1\r\n*1\r\n+a\r\n", reply{kind: '*', elems: []reply{{kind: '*', elems: []reply{{kind: '+', text: "a"}}}}}, nil},
		{"resp3 null", "_\r\n", reply{kind: '_', null: true}, nil},
		{"resp3 boolean", "#t\r\n", reply{kind: '#', num: 1}, nil},
		{"resp3 double", ",3.14\r\n", reply{kind: ',', text: "3.14"}, nil},
		{"resp3 big number", "(123456789012345678901234567890\r\n", reply{kind: '(', text: "123456789012345678901234567890"}, nil},
		{"resp3 verbatim", "=8\r\ntxt:info\r\n", reply{kind: '=', text: "info"}, nil},
		{"resp3 blob error", "!3\r\nERR\r\n", reply{kind: '!', text: "ERR"}, nil},
		{"resp3 map", "%1\r\n+k\r\n:1\r\n", reply{kind: '%', elems: []reply{{kind: '+', text: "k"}, {kind: ':', num: 1}}}, nil},
		{"resp3 attribute skipped", "|1\r\n+ttl\r\n:3\r\n+value\r\n", reply{kind: '+', text: "value"}, nil},

		{"http", "HTTP/1.1 400 Bad Request\r\n", reply{}, gown.ErrNotService},
		{"tls alert", "\x15\x03\x03\x00\x02\x02\x46", reply{}, gown.ErrNotService},
		{"ssh banner", "SSH-2.0-OpenSSH_9.2\r\n", reply{}, gown.ErrNotService},
		{"bad type inside array", "*1\r\nX\r\n", reply{}, gown.ErrProtocol},
		{"negative length", "$-2\r\n", reply{}, gown.ErrProtocol},
		{"garbage length", "$abc\r\n", reply{}, gown.ErrProtocol},
		{"empty length", "*\r\n", reply{}, gown.ErrProtocol},
		{"LF only", "+OK\n", reply{}, gown.ErrProtocol},
		{"bulk without CRLF", "$2\r\nabXY", reply{}, gown.ErrProtocol},
		{"bad boolean", "#x\r\n", reply{}, gown.ErrProtocol},
		{"null map", "%-1\r\n", reply{}, gown.ErrProtocol},
		{"huge bulk", "$9999999999\r\n", reply{}, gown.ErrReplyTooLarge},
		{"bulk over cap", "$262145\r\n", reply{}, gown.ErrReplyTooLarge},
		{"huge array", "*1025\r\n", reply{}, gown.ErrReplyTooLarge},
		{"too deep", strings.Repeat("*1\r\n", maxDepth+1) + ":1\r\n", reply{}, gown.ErrReplyTooLarge},
		{"long line", "+" + strings.Repeat("a", maxLine+10) + "\r\n", reply{}, gown.ErrReplyTooLarge},
		{"truncated bulk", "$10\r\nabc", reply{}, io.ErrUnexpectedEOF},
		{"truncated line", "+PON", reply{}, io.ErrUnexpectedEOF},
		{"truncated array", "*2\r\n:1\r\n", reply{}, io.EOF},
		{"empty", "", reply{}, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestReadReplyDepthLimit checks that the deepest allowed nesting still reads.
func TestReadReplyDepthLimit(t *testing.T) {
	in := strings.Repeat("*1\r\n", maxDepth) + ":1\r\n"
	if _, err := readReply(bufio.NewReader(strings.NewReader(in))); err != nil {
		t.Fatalf("nesting of %d: %v", maxDepth, err)
	}
}

// TestReadReplyNodeBudget checks that many wide arrays cannot add up to more
// values than the whole-reply budget.
func TestReadReplyNodeBudget(t *testing.T) {
	inner := "*1000\r\n" + strings.Repeat("_\r\n", 1000)
	in := "*9\r\n" + strings.Repeat(inner, 9)
	_, err := readReply(bufio.NewReader(strings.NewReader(in)))
	if !errors.Is(err, gown.ErrReplyTooLarge) {
		t.Fatalf("error = %v, want ErrReplyTooLarge", err)
	}
}

// TestReadReplyLongLineSmallBuffer checks lines longer than the bufio buffer
// but within the cap, which take several ReadSlice calls.
func TestReadReplyLongLineSmallBuffer(t *testing.T) {
	long := strings.Repeat("x", 3000)
	got, err := readReply(bufio.NewReaderSize(strings.NewReader("+"+long+"\r\n"), 16))
	if err != nil || got.text != long {
		t.Fatalf("got %d bytes, err %v", len(got.text), err)
	}
}

// FuzzReadReply checks that no input makes the reader panic, loop, or return
// a value together with an error; seeds are in testdata/fuzz/FuzzReadReply.
func FuzzReadReply(f *testing.F) {
	f.Add([]byte("$5\r\nhello\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		rep, err := readReply(bufio.NewReader(bytes.NewReader(in)))
		if err != nil {
			if !reflect.DeepEqual(rep, reply{}) {
				t.Fatalf("value %+v returned with error %v", rep, err)
			}
			return
		}
		if rep.kind == 0 {
			t.Fatalf("value without a kind from %q", in)
		}
		if len(rep.text) > maxBulk {
			t.Fatalf("text of %d bytes passed the cap", len(rep.text))
		}
	})
}
