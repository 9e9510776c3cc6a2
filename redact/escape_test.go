package redact

import (
	"strings"
	"testing"
)

// TestEscape: Escape renders what a terminal would obey visibly, as Text
// does, but masks nothing and cuts nothing.
func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text 608892678", "plain text 608892678"},
		{"\x1b]0;pwned\x07\x1b[2J", `\x1b]0;pwned\x07\x1b[2J`},
		{"a\u009b31mb", `a\u009b31mb`},
		{"file\u202etxt.exe", `file\u202etxt.exe`},
		{"bad \xff\xfe utf-8", `bad \xff\xfe utf-8`},
		{"tab\there\nline", `tab\there\nline`},
		{"user@example.com é 漢字", "user@example.com é 漢字"},
	} {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestName: a name keeps its digits and addresses (an entry path must stay
// the entry a reader opens) while what drives a terminal is escaped and the
// cap holds on a character boundary.
func TestName(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"assets/2024-01-01-123456789.json", 0, "assets/2024-01-01-123456789.json"},
		{"com.example.app-123456789", 64, "com.example.app-123456789"},
		{"assets/\x1b]0;pwned\x07.json", 0, `assets/\x1b]0;pwned\x07.json`},
		{"é" + "\u202e", 0, `é\u202e`},
		{strings.Repeat("a", 32) + "é", 33, strings.Repeat("a", 30) + Ellipsis},
	} {
		if got := Name(c.in, c.max); got != c.want {
			t.Errorf("Name(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
}
