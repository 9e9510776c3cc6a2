// Package redact is the one helper through which evidence, errors and logs pass
// before they are stored or printed. It masks secrets and personal data so that
// no full password, token, e-mail address or card number leaves gown (String,
// and Mask for values of a known class), makes raw protocol bytes printable
// (Bytes), and makes any string a server chose safe to keep and to show
// (Text: masked, cut on a character boundary, nothing left that could drive
// a terminal), the pass the probe engine runs over every result.
package redact

import (
	"strings"

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
	if !maySecret(s) {
		return s
	}
	return applyRules(s)
}

// applyRules runs every rule over s.
func applyRules(s string) string {
	for _, r := range rules {
		s = r.re.ReplaceAllStringFunc(s, func(match string) string {
			return r.mask(r.re.FindStringSubmatch(match))
		})
	}
	return s
}

// Bytes renders raw protocol bytes as printable text of at most max bytes of
// input, escaping control and non-UTF-8 bytes as Text does (\r, \n, \t,
// \xNN, \u009b), then masks it. A cut is marked with Ellipsis. Unlike Text,
// it cuts the input, not the output: evidence shows the first max bytes of
// an exchange, whatever their escapes cost.
func Bytes(b []byte, max int) string {
	cut := false
	if max > 0 && len(b) > max {
		b, cut = b[:max], true
	}
	out := escape(string(b), 0, false)
	if cut {
		out += Ellipsis
	}
	return String(out)
}

// maySecret reports whether a rule of String could match s. It is cheap,
// and exact in one direction: false means no rule matches, so String can
// skip its expressions, which most strings of a scan (a closed port's
// error, a version) never need. It reads printable ASCII only; anything
// else is handed to the expressions (Unicode case folding lets "ſ" match
// "s" in the keyword rule).
func maySecret(s string) bool {
	if !printableASCII(s) {
		return true
	}
	// '@': e-mail addresses and URL user info; '$': password hashes;
	// "eyJ": JSON Web Tokens.
	if strings.ContainsAny(s, "@$") || strings.Contains(s, "eyJ") {
		return true
	}
	keyValue := strings.ContainsAny(s, ":=")
	run, lastDigit := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			// Long digit runs: nine digits, single spaces or dashes
			// between them allowed.
			if run++; run >= 9 {
				return true
			}
			lastDigit = true
		case (c == ' ' || c == '-') && lastDigit:
			lastDigit = false
		default:
			run, lastDigit = 0, false
		}
		// IBANs: two capital letters, then two digits.
		if i+3 < len(s) && isUpper(c) && isUpper(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			return true
		}
		// Credentials after a keyword, which needs a ':' or '=' after it.
		if keyValue && strings.IndexByte("pstam", c|0x20) >= 0 && keywordAt(s, i) {
			return true
		}
	}
	return false
}

// keywords start the credential rule's keywords (api[_-]?key starts "api";
// requirepass holds "pass").
var keywords = []string{"pass", "pwd", "secret", "token", "api", "masterauth"}

// keywordAt reports whether a keyword starts at s[i], in any ASCII case.
func keywordAt(s string, i int) bool {
	for _, k := range keywords {
		if len(s)-i >= len(k) && strings.EqualFold(s[i:i+len(k)], k) {
			return true
		}
	}
	return false
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Secret masks a value known to be secret entirely, keeping only its length
// class, for places where a field is a password by construction.
func Secret(s string) string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}
