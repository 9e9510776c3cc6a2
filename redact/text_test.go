package redact

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestText: each case is what a server may send and what Text makes of it.
func TestText(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"
	cases := []struct {
		name, in string
		max      int
		want     string
	}{
		{"clean", "Redis 7.0.15", 64, "Redis 7.0.15"},
		{"xterm title and clear screen", "\x1b]0;pwned\x07\x1b[2J", 64, `\x1b]0;pwned\x07\x1b[2J`},
		{"CSI colour", "\x1b[31mred\x1b[0m", 64, `\x1b[31mred\x1b[0m`},
		{"C1 CSI", "a\u009b31mb", 64, `a\u009b31mb`},
		{"C1 OSC and NEL", "\u009d0;x\u009c\u0085", 64, `\u009d0;x\u009c\u0085`},
		{"bidi override", "invoice\u202egpj.exe", 64, `invoice\u202egpj.exe`},
		{"bidi isolates and marks", "\u2066a\u2069\u200f\u061c", 64, `\u2066a\u2069\u200f\u061c`},
		{"line separators", "a\u2028b\u2029c", 64, `a\u2028b\u2029c`},
		{"newline tab return", "a\tb\r\nc", 64, `a\tb\r\nc`},
		{"NUL and DEL", "a\x00b\x7f", 64, `a\x00b\x7f`},
		{"invalid UTF-8", "ok\xff\xfe\xc3", 64, `ok\xff\xfe\xc3`},
		{"letters past ASCII stay", "Zürich 東京 😀", 64, "Zürich 東京 😀"},
		{"4-byte rune at the cap", "aaaa😀bbbb", 8, "aaaa…"},
		{"4-byte rune just fits", "aaaa😀", 8, "aaaa😀"},
		{"cut never splits an escape", "abc\x1bdef", 7, "abc…"},
		{"cut on a cap below the mark", "abcdef", 2, "ab"},
		{"no cap", strings.Repeat("x", 5000), 0, strings.Repeat("x", 5000)},
		{"password", "AUTH password=hunter2 ok", 64, "AUTH password=[REDACTED] ok"},
		{"e-mail before the cut", "owner alice.smith@example.org", 20, "owner a***@***.org"},
		{"e-mail across the cut", "xxxxxxxxxx alice.smith@example.org", 20, "xxxxxxxxxx a***@*…"},
		{"JWT", "tok " + jwt, 64, "tok eyJ[REDACTED-JWT]"},
		{"card", "card 4111 1111 1111 1111 paid", 64, "card [NUM-11] paid"},
		{"card glued to a name", "x_4111111111111111", 64, "x_[NUM-11]"},
		{"token in a key name", "cache:ghp_R8kT2mW9qZ4xV7nB3cY6hJ1dF5gL0pS8aQ2E:1", 64, "cache:ghp_…[REDACTED]:1"},
		{"token across the cut", "db5/AKIAQ7X2M4K4R6T3W5YZ", 10, "db5/AKI…"},
		{"secret behind an escape", "\x1b[2Jpassword=hunter2", 64, `\x1b[2Jpassword=[REDACTED]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Text(c.in, c.max)
			if got != c.want {
				t.Fatalf("Text(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
			}
			checkSafe(t, got, c.max)
		})
	}
}

// TestTextRedactsBeforeTheCut: a long value is redacted on a prefix only,
// and masks shorten it; a secret torn where the prefix ends must not move
// into view. Here five 200-byte JWTs shrink to 17 bytes each, pulling an
// e-mail address that straddles the first prefix into the part shown.
func TestTextRedactsBeforeTheCut(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + strings.Repeat("d", 150)
	const max = 200
	prefix := 4*max + tailGuard
	s := strings.Repeat(jwt+" ", 5)
	s += strings.Repeat("x", prefix-7-len(s)) + " bob.smith@example.org and more text after it"
	if i := strings.Index(s, "bob"); i >= prefix || i+21 <= prefix {
		t.Fatalf("the address at %d does not straddle the first prefix (%d)", i, prefix)
	}
	got := Text(s, max)
	if strings.Contains(got, "bob.smith") || strings.Contains(got, "example") || !strings.Contains(got, "b***@***.org") {
		t.Fatalf("Text = %q: the address straddling the prefix is not masked whole", got)
	}
	checkSafe(t, got, max)
}

// TestTextCleanDoesNotCopy: the common case, a short clean string, costs
// nothing.
func TestTextCleanDoesNotCopy(t *testing.T) {
	s := "redis INFO on 127.0.0.1:6379: connect: connection refused"
	if n := testing.AllocsPerRun(100, func() { _ = Text(s, 256) }); n != 0 {
		t.Errorf("Text of a clean string allocates %v times", n)
	}
}

// TestRuleTests: a rule's quick test never says no where its expression
// would match, and the common strings of a scan skip every expression.
func TestRuleTests(t *testing.T) {
	for _, s := range []string{
		"AUTH password=hunter2", "PWD: x", "api-key=1", "redis://u:p@h", "mail a@b.io", "$2b$12$" + strings.Repeat("a", 53),
		"DE89 3704 0044 0532 0130 00", "call 0151-2345-6789", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
		"paſsword=x", "MASTERAUTH x", "Token:abc", "Key: apiKey=1",
		"x_4111111111111111", "a4111111111111111 01", `\x124111111111111111`, "cache:ghp_R8kT2mW9qZ4xV7nB3cY6hJ1dF5gL0pS8aQ2E",
		"x_AKIAQ7X2M4K4R6T3W5YZ", "sk_live_51hq8zt3xv9lm2np7rb4wc6y", "xoxb-1234567890-abcdefghij", "SG." + strings.Repeat("a", 22) + "." + strings.Repeat("b", 43),
	} {
		checkRuleTests(t, s)
	}
	for _, s := range []string{"redis INFO on 127.0.0.1:6379: connect: connection refused", "Redis 7.0.15", "db0", "HTTP 401", "high_value", "events_2026"} {
		if maySecret(s) {
			t.Errorf("maySecret(%q) = true: the common strings should skip the expressions", s)
		}
	}
}

func checkRuleTests(t *testing.T, s string) {
	t.Helper()
	for i, r := range rules {
		if !r.may(s) && r.re.MatchString(s) {
			t.Fatalf("rule %d (%s) matches %q, but its quick test says it cannot", i, r.re, s)
		}
	}
}

// checkSafe asserts what Text promises whatever the input: valid UTF-8,
// within the cap, and no character that drives a terminal.
func checkSafe(t *testing.T, out string, max int) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("output %q is not valid UTF-8", out)
	}
	if max > 0 && len(out) > max {
		t.Fatalf("output of %d bytes, cap %d", len(out), max)
	}
	for _, r := range out {
		if r < 0x20 || r == 0x7f || unsafeRune(r) {
			t.Fatalf("output %q holds %U", out, r)
		}
	}
}

// FuzzText: whatever a server sends, Text does not panic and keeps its
// promise (checkSafe). Seeds in testdata/fuzz/FuzzText.
func FuzzText(f *testing.F) {
	f.Add("\x1b]0;pwned\x07\x1b[2J", 16)
	f.Fuzz(func(t *testing.T, s string, max int) {
		max %= 4096
		if max < 0 {
			max = -max
		}
		checkSafe(t, Text(s, max), max)
	})
}

// FuzzRuleTests: whatever the text, a rule's quick test is never wrong in
// the direction that matters (checkRuleTests). Seeds in
// testdata/fuzz/FuzzRuleTests.
func FuzzRuleTests(f *testing.F) {
	f.Add("password=x")
	f.Add("card 4111-1111-1111-1111")
	f.Fuzz(func(t *testing.T, s string) {
		checkRuleTests(t, s)
	})
}
