package redact

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis marks text that Text or Bytes cut.
const Ellipsis = "…"

// Text makes a string a server chose safe to keep and to print, in one pass
// every string of a result goes through before it leaves the probe engine:
//
//   - secrets and personal data are masked as String masks them, before the
//     cut, so that no secret is cut in two and half of it shown;
//   - invalid UTF-8 bytes are rendered as \xNN;
//   - every character that could drive a terminal or reorder what is shown
//     is rendered visibly instead: C0 controls (\n, \r and \t as those
//     escapes, the others, ESC among them, as \xNN), DEL as \x7f, C1 controls
//     (U+0080 to U+009F, U+009B CSI among them) as \u0080..\u009f, and the
//     bidirectional and line-breaking formatting characters (U+061C,
//     U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069, U+2028, U+2029) as
//     \u202e and the like. The escapes are those of redact.Bytes, so
//     evidence reads alike;
//   - when max > 0 the result is at most max bytes: it is cut on a character
//     boundary, never inside a rune or an escape, and ends with Ellipsis.
//
// A string that needs none of this comes back as it is, without copying.
// Text does not escape a backslash: its output is for reading, and a
// literal "\x1b" in the input reads the same as an escaped ESC.
func Text(s string, max int) string {
	if printableASCII(s) && (max <= 0 || len(s) <= max) && !maySecret(s) {
		return s
	}
	red, more := redactPrefix(s, max)
	return escape(red, max, more)
}

// Escape renders s visibly as Text does, without masking anything and
// without a cap: for writers that print text which was redacted where it
// was read (the engine's text pass) but may come back from a file or an
// older store with control characters a terminal would obey.
func Escape(s string) string {
	if printableASCII(s) {
		return s
	}
	return escape(s, 0, false)
}

// Name renders a name an app or a server chose (a zip entry, a package id,
// a file path) visibly and within max bytes as Text does, but masks
// nothing: a name must stay the one a reader looks up (an entry path with a
// long number in it is still that entry). Use it only for names, never for
// values that may hold secrets.
func Name(s string, max int) string {
	if printableASCII(s) && (max <= 0 || len(s) <= max) {
		return s
	}
	return escape(s, max, false)
}

// tailGuard is how far past the visible part redaction must have run. A
// string longer than needed is redacted on a prefix only (a hostile value
// may be a megabyte); a secret cut in two where the prefix ends escapes its
// pattern. Masks shorten text, so that cut can move into view: redaction is
// redone on a longer prefix until at least tailGuard bytes of redacted text
// follow the max shown. 256 is longer than any e-mail address (254), IBAN,
// card number or password hash, the secrets a cut would leave unmasked.
const tailGuard = 256

// TailGuard is how far past its cut Bytes masks, in bytes of input: a
// caller that keeps the first bytes of a longer stream for Bytes(b, max)
// keeps max+TailGuard+1 of them (see Bytes).
const TailGuard = tailGuard

// redactPrefix masks secrets in as much of s as Text can show, and says
// whether text was left out.
func redactPrefix(s string, max int) (string, bool) {
	if max <= 0 {
		return String(s), false
	}
	for n := 4*max + tailGuard; ; n *= 2 {
		if n >= len(s) {
			return String(s), false
		}
		// Back up to a rune start, so the prefix holds no torn rune.
		cut := n
		for cut > n-utf8.UTFMax && cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		red := String(s[:cut])
		if len(red) >= max+tailGuard {
			return red, true
		}
	}
}

// escape renders s visibly (see Text) within max bytes; more says text past
// s was left out, so the result must end with Ellipsis.
func escape(s string, max int, more bool) string {
	limit := max
	mark := Ellipsis
	if max > 0 && max < len(Ellipsis) {
		mark = ""
	}
	var b strings.Builder
	b.Grow(min(len(s), max+len(Ellipsis)))
	fit := 0 // output length at the last unit boundary leaving room for mark
	var unit [8]byte
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		u := appendUnit(unit[:0], s[i:i+n], r, n)
		if max > 0 && b.Len()+len(u) > limit {
			more = true
			break
		}
		b.Write(u)
		if max <= 0 || b.Len()+len(mark) <= limit {
			fit = b.Len()
		}
		i += n
	}
	if !more {
		return b.String()
	}
	return b.String()[:fit] + mark
}

// appendUnit appends the visible form of one rune (or one invalid byte)
// whose encoding in the input is raw.
func appendUnit(dst []byte, raw string, r rune, n int) []byte {
	const hex = "0123456789abcdef"
	switch {
	case r == utf8.RuneError && n == 1:
		return append(dst, '\\', 'x', hex[raw[0]>>4], hex[raw[0]&0xf])
	case r == '\n':
		return append(dst, `\n`...)
	case r == '\r':
		return append(dst, `\r`...)
	case r == '\t':
		return append(dst, `\t`...)
	case r < 0x20 || r == 0x7f:
		return append(dst, '\\', 'x', hex[r>>4], hex[r&0xf])
	case unsafeRune(r):
		return append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
	}
	return append(dst, raw...)
}

// unsafeRune reports the characters past ASCII that Text renders as \u
// escapes: C1 controls, which terminals read as commands (U+009B is CSI,
// U+009D OSC), and the formatting characters that reorder or break what a
// terminal or a browser shows (the Trojan Source set).
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// printableASCII reports whether s holds only printable ASCII, the text
// that needs no escaping.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
