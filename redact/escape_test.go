package redact

import "testing"

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
