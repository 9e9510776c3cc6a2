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
	"unicode/utf8"

	"github.com/gownscan/gown/internal/lazyre"
)

// rule masks one kind of sensitive text. The mask keeps a little of the value
// (first character, domain) so that evidence stays useful to a human. may is
// a cheap test that is false only where re cannot match: most strings of a
// scan (a version, a closed port's error, a redis INFO line) skip the
// expression, which costs tens of microseconds on a few hundred bytes.
type rule struct {
	re   *lazyre.Regexp
	mask func(m []string) string
	may  func(s string) bool
	// replace, when set, does the rule's work instead of mask: for a rule
	// that must see what surrounds each match.
	replace func(s string) string
}

var rules = []rule{
	// Credentials after a keyword: password=x, "password":"x", pwd: x, AUTH x.
	{lazyre.New(`(?i)((?:pass(?:word|wd)?|pwd|secret|token|api[_-]?key|requirepass|masterauth)["']?\s*[:=]\s*["']?)([^\s"',;&}]+)`),
		func(m []string) string { return m[1] + "[REDACTED]" },
		mayKeyword, nil},
	// URL user info: scheme://user:secret@host.
	{lazyre.New(`([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)([^@/\s]+)(@)`),
		func(m []string) string { return m[1] + "[REDACTED]" + m[3] },
		func(s string) bool { return strings.Contains(s, "://") && strings.IndexByte(s, '@') >= 0 }, nil},
	// JSON Web Tokens.
	{lazyre.New(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}`),
		func(m []string) string { return "eyJ[REDACTED-JWT]" },
		func(s string) bool { return strings.Contains(s, "eyJ") }, nil},
	// API keys and access tokens of known formats, wherever they stand:
	// in a value, in a key or collection name ("cache:ghp_…", "x_AKIA…"),
	// glued to the bytes before them in escaped evidence. No \b before
	// them, which "_" and a letter would defeat; each format's fixed
	// prefix and length keep ordinary words out. The mask keeps the prefix,
	// which names the issuer (maskToken).
	{lazyre.New(`gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20}|xox[baprs]-[A-Za-z0-9-]{10,72}|[rs]k_(?:live|test)_[A-Za-z0-9]{16,}|(?:AKIA|ASIA)[A-Z0-9]{16}|AIza[0-9A-Za-z_-]{35}|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}|sk-proj-[A-Za-z0-9_-]{40,}|sk-[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}|key-[0-9a-f]{32}`),
		func(m []string) string { return maskToken(m[0]) },
		mayToken, nil},
	// Password hashes in modular crypt format (bcrypt, argon2, sha-crypt,
	// md5-crypt, phpass): keep the scheme. Argon2's PHC string has commas
	// between its parameters (m=65536,t=3,p=4), which the looser argon2
	// branch stops at.
	{lazyre.New(`\$(2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}|argon2(?:id|i|d)\$(?:v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/.=-]+\$[A-Za-z0-9+/.=-]+|argon2(?:id|i|d)\$[^\s"',;]{20,}|[156]\$[^\s"',;$]{1,16}\$[./A-Za-z0-9]{22,86}|[PH]\$[./A-Za-z0-9]{31})`),
		func(m []string) string { return maskHash(m[0]) },
		func(s string) bool { return strings.IndexByte(s, '$') >= 0 }, nil},
	// IBAN-shaped strings: country, check digits and 11 to 30 letters and
	// digits. Masking a look-alike in evidence costs nothing; missing an
	// IBAN would leak one.
	{lazyre.New(`\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b`),
		func(m []string) string {
			if len(digits(m[0])) < 8 {
				return m[0]
			}
			return maskIBAN(m[0])
		},
		mayIBAN, nil},
	// E-mail addresses: keep the first letter and the top-level domain.
	{lazyre.New(`([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@[A-Za-z0-9.-]+\.([A-Za-z]{2,})`),
		func(m []string) string { return m[1] + "***@***." + m[2] },
		func(s string) bool { return strings.IndexByte(s, '@') >= 0 }, nil},
	// Long digit runs (cards, phone numbers, ids), spaces or dashes allowed:
	// keep the last two digits. A run standing alone is masked whatever it
	// is; one glued to a letter or "_" ("x_4111111111111111", a name) only
	// when it is a card number (maskDigits).
	{digitRun, nil, mayDigits, maskDigits},
}

// String masks sensitive data in s.
func String(s string) string {
	for _, r := range rules {
		// Each rule's test reads s as the rules before it left it.
		if !r.may(s) {
			continue
		}
		if r.replace != nil {
			s = r.replace(s)
			continue
		}
		s = r.re.ReplaceAllStringFunc(s, func(match string) string {
			return r.mask(r.re.FindStringSubmatch(match))
		})
	}
	return s
}

// Bytes renders raw protocol bytes as printable text, escaping control and
// non-UTF-8 bytes as Text does (\r, \n, \t, \xNN, \u009b), masked, and cut
// to at most what the first max bytes of input take escaped. A cut is
// marked with Ellipsis. Unlike Text, it measures the cut on the input:
// evidence shows about the first max bytes of an exchange, whatever their
// escapes cost.
//
// Masking comes before the cut, on up to TailGuard bytes past it, so that
// a secret across the cut (an index named after an e-mail address at the
// 320th byte) is masked whole, never shown in part. A caller keeping a
// prefix of a longer stream keeps max+TailGuard+1 bytes: with more than
// max+TailGuard bytes, Bytes takes the end of b for a tear and never shows
// the last TailGuard bytes of what it masked, where a torn secret would be.
func Bytes(b []byte, max int) string {
	if max <= 0 || len(b) <= max {
		return String(escape(string(b), 0, false))
	}
	budget := len(escape(string(b[:max]), 0, false))
	torn := len(b) > max+TailGuard
	red := String(escape(string(b[:min(len(b), max+TailGuard)]), 0, false))
	if torn {
		budget = min(budget, len(red)-TailGuard)
	}
	return cutEscaped(red, budget) + Ellipsis
}

// cutEscaped returns the longest prefix of s, text as escape renders it,
// of at most n bytes that ends neither inside a character nor inside an
// escape (\n, \xNN, \uNNNN).
func cutEscaped(s string, n int) string {
	if n >= len(s) {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	for j := n - 1; j >= 0 && j > n-6; j-- {
		if s[j] != '\\' {
			continue
		}
		size := 2
		switch s[j+1] {
		case 'x':
			size = 4
		case 'u':
			size = 6
		}
		if j+size > n {
			n = j
		}
		break
	}
	return s[:n]
}

// maySecret reports whether a rule of String could match s: false means
// String would return s unchanged.
func maySecret(s string) bool {
	for _, r := range rules {
		if r.may(s) {
			return true
		}
	}
	return false
}

// mayKeyword is the credential rule's test: a keyword, and a ':' or '='
// for it to precede. The rule is case-insensitive, and Unicode case folding
// maps "ſ" to "s" and the Kelvin sign to "k": a string with bytes past
// ASCII always gets the expression.
func mayKeyword(s string) bool {
	if !strings.ContainsAny(s, ":=") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return true
		}
		if strings.IndexByte("pstam", c|0x20) >= 0 && keywordAt(s, i) {
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

// mayToken is the token rule's test: one of the formats' prefixes.
func mayToken(s string) bool {
	for i := 0; i+3 < len(s); i++ {
		switch r := s[i:]; s[i] {
		case 'g':
			if r[1] == 'h' && (r[3] == '_' && strings.IndexByte("pousr", r[2]) >= 0 || strings.HasPrefix(r, "github_pat_")) ||
				strings.HasPrefix(r, "glpat-") {
				return true
			}
		case 'x':
			if r[1] == 'o' && r[2] == 'x' {
				return true
			}
		case 'k':
			if strings.HasPrefix(r, "k_live_") || strings.HasPrefix(r, "k_test_") || strings.HasPrefix(r, "key-") {
				return true
			}
		case 'A':
			if r[1] == 'I' && r[2] == 'z' && r[3] == 'a' || r[2] == 'I' && r[3] == 'A' && (r[1] == 'K' || r[1] == 'S') {
				return true
			}
		case 'S':
			if r[1] == 'G' && r[2] == '.' {
				return true
			}
		case 's':
			if r[1] == 'k' && r[2] == '-' {
				return true
			}
		}
	}
	return false
}

// mayIBAN is the IBAN rule's test: two capital letters, then two digits.
func mayIBAN(s string) bool {
	for i := 0; i+3 < len(s); i++ {
		if isUpper(s[i]) && isUpper(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			return true
		}
	}
	return false
}

// mayDigits is the long-number rule's test: nine digits in a row, single
// spaces or dashes between them allowed.
func mayDigits(s string) bool {
	run, lastDigit := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case isDigit(c):
			if run++; run >= 9 {
				return true
			}
			lastDigit = true
		case (c == ' ' || c == '-') && lastDigit:
			lastDigit = false
		default:
			run, lastDigit = 0, false
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
