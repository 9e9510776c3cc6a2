// Package redact is the one helper through which evidence, errors and logs pass
// before they are stored or printed. It masks secrets and personal data so that
// no full password, token, e-mail address or card number leaves gown, and it
// makes raw protocol bytes printable.
package redact

import (
	"strings"
	"unicode/utf8"

	"github.com/gownscan/gown/internal/lazyre"
)

// rule masks one kind of sensitive text. The mask keeps a little of the value
// (first character, domain) so that evidence stays useful to a human.
type rule struct {
	re   *lazyre.Regexp
	mask func(m []string) string
}

var rules = []rule{
	// Credentials after a keyword: password=x, "password":"x", pwd: x, AUTH x.
	{lazyre.New(`(?i)((?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|requirepass|masterauth)["']?\s*[:=]\s*["']?)([^\s"',;&}]+)`),
		func(m []string) string { return m[1] + "[REDACTED]" }},
	// URL user info: scheme://user:secret@host.
	{lazyre.New(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)([^@/\s]+)(@)`),
		func(m []string) string { return m[1] + "[REDACTED]" + m[3] }},
	// JSON Web Tokens.
	{lazyre.New(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}`),
		func(m []string) string { return "eyJ[REDACTED-JWT]" }},
	// Password hashes in modular crypt format (bcrypt, argon2, sha-crypt,
	// md5-crypt, phpass): keep the scheme.
	{lazyre.New(`\$(2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}|argon2(?:id|i|d)\$[^\s"',;]{20,}|[156]\$[^\s"',;$]{1,16}\$[./A-Za-z0-9]{22,86}|[PH]\$[./A-Za-z0-9]{31})`),
		func(m []string) string { return maskHash(m[0]) }},
	// IBAN-shaped strings: country, check digits and 11 to 30 letters and
	// digits. Masking a look-alike in evidence costs nothing; missing an
	// IBAN would leak one.
	{lazyre.New(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b`),
		func(m []string) string {
			if len(digits(m[0])) < 8 {
				return m[0]
			}
			return maskIBAN(m[0])
		}},
	// E-mail addresses: keep the first letter and the top-level domain.
	{lazyre.New(`([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@[A-Za-z0-9.-]+\.([A-Za-z]{2,})`),
		func(m []string) string { return m[1] + "***@***." + m[2] }},
	// Long digit runs (cards, phone numbers, ids), spaces or dashes allowed:
	// keep the last two digits.
	{lazyre.New(`\b\d(?:[ -]?\d){8,}\b`),
		func(m []string) string {
			d := strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, m[0])
			return "[NUM-" + d[len(d)-2:] + "]"
		}},
}

// String masks sensitive data in s.
func String(s string) string {
	for _, r := range rules {
		s = r.re.ReplaceAllStringFunc(s, func(match string) string {
			return r.mask(r.re.FindStringSubmatch(match))
		})
	}
	return s
}

// Bytes renders raw protocol bytes as printable text of at most max bytes of
// input, escaping control and non-UTF-8 bytes as \xNN, then masks it. A cut
// is marked with "…".
func Bytes(b []byte, max int) string {
	cut := false
	if max > 0 && len(b) > max {
		b, cut = b[:max], true
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		switch {
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == utf8.RuneError && n == 1, r < 0x20, r == 0x7f:
			const hex = "0123456789abcdef"
			sb.WriteString(`\x`)
			sb.WriteByte(hex[b[0]>>4])
			sb.WriteByte(hex[b[0]&0xf])
		default:
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	if cut {
		sb.WriteString("…")
	}
	return String(sb.String())
}

// Secret masks a value known to be secret entirely, keeping only its length
// class, for places where a field is a password by construction.
func Secret(s string) string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}
