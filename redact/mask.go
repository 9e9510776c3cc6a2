package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Masks for values known to be of one sensitive class. Each keeps a hint a
// human can use (the kind of hash, a card's last four, an e-mail's top-level
// domain) and never enough to recover the value. assess passes every example
// it keeps through Mask, so that no sampled value leaves gown whole.

// Mask masks v as a value of the named class (the class names of
// assess.Classify: "email", "payment-card", "phone", "iban", "password",
// "password-hash", "government-id", "geo", "device-id", "access-token",
// "api-key", "ip-address", "name", "postal-address"). An unknown class gets
// the generic mask. The result never holds v itself.
func Mask(class, v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if f, ok := maskers[class]; ok {
		return f(v)
	}
	return generic(v)
}

// maskers maps a class to its mask.
var maskers = map[string]func(string) string{
	"email":          MaskEmail,
	"payment-card":   MaskCard,
	"phone":          MaskPhone,
	"iban":           maskIBAN,
	"password":       func(string) string { return "[REDACTED]" },
	"password-hash":  maskHash,
	"government-id":  keepLast2,
	"geo":            maskGeo,
	"device-id":      maskDevice,
	"access-token":   maskToken,
	"api-key":        maskToken,
	"ip-address":     maskIP,
	"name":           initials,
	"postal-address": initials,
}

// MaskEmail keeps the first letter of the local part, the first letter of the
// domain and the top-level domain: "amelia@mail.example.com" → "a***@m***.com".
func MaskEmail(v string) string {
	local, domain, ok := strings.Cut(strings.TrimSpace(v), "@")
	if !ok || local == "" || domain == "" {
		return generic(v)
	}
	tld := ""
	if i := strings.LastIndexByte(domain, '.'); i >= 0 && i < len(domain)-1 {
		tld = domain[i:]
	}
	return first(local) + "***@" + first(domain) + "***" + tld
}

// MaskCard keeps the last four digits of a card number, as PCI DSS allows
// for display: "4111 1111 1111 1111" → "**** **** **** 1111".
func MaskCard(v string) string {
	d := digits(v)
	if len(d) < 8 {
		return stars(v)
	}
	return "**** **** **** " + d[len(d)-4:]
}

// MaskPhone keeps an international number's country code (the "+" and the
// first group, or its first two digits when there are no groups) and the
// last two digits; separators stay, every other digit becomes "*":
// "+49 151 23456789" → "+49 *** ******89".
func MaskPhone(v string) string {
	v = strings.TrimSpace(v)
	nd := len(digits(v))
	if nd < 4 {
		return stars(v)
	}
	keepHead := 0
	if strings.HasPrefix(v, "+") {
		rest := v[1:]
		if i := strings.IndexAny(rest, " -.("); i > 0 && i <= 3 {
			keepHead = i
		} else {
			keepHead = 2
		}
	}
	var b strings.Builder
	seen := 0
	for _, r := range v {
		if r < '0' || r > '9' {
			if strings.ContainsRune(" -.()/+", r) {
				b.WriteRune(r)
			} else {
				b.WriteByte('*') // not a phone's: nothing of it is kept
			}
			continue
		}
		seen++
		if seen <= keepHead || seen > nd-2 {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// maskIBAN keeps the country code and the last two characters.
func maskIBAN(v string) string {
	c := strings.ReplaceAll(v, " ", "")
	if len(c) < 8 {
		return stars(v)
	}
	return strings.ToUpper(c[:2]) + "**…" + c[len(c)-2:]
}

// maskHash names the hash scheme and drops the hash: "$2b$12$[REDACTED]",
// "hex-64:[REDACTED]".
func maskHash(v string) string {
	if strings.HasPrefix(v, "$") {
		// Modular crypt format: $id$params$salt$hash. The id and a cost
		// parameter are no secret; salt and hash are dropped.
		parts := strings.Split(v, "$")
		head := "$" + parts[1] + "$"
		if len(parts) > 3 && len(parts[2]) <= 24 && isParam(parts[2]) {
			head += parts[2] + "$"
		}
		return clipRunes(head, 32) + "[REDACTED]"
	}
	if i := strings.IndexAny(v, "${}:"); i > 0 && i <= 24 {
		// pbkdf2_sha256$..., {SSHA}..., sha256:...
		return v[:i+1] + "[REDACTED]"
	}
	if strings.HasPrefix(v, "{") {
		if j := strings.IndexByte(v, '}'); j > 0 && j <= 16 {
			return v[:j+1] + "[REDACTED]"
		}
	}
	if isHex(v) {
		return "hex-" + strconv.Itoa(len(v)) + ":[REDACTED]"
	}
	return "[REDACTED]"
}

// maskGeo keeps whole degrees (a region some 100 km wide): "52.520008,
// 13.404954" → "52.*,13.*". Anything that is not a coordinate becomes "*".
func maskGeo(v string) string {
	var b strings.Builder
	tok := func(t string) {
		if t == "" {
			return
		}
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || f < -180 || f > 180 {
			b.WriteByte('*')
			return
		}
		whole, _, _ := strings.Cut(t, ".")
		b.WriteString(whole + ".*")
	}
	start := 0
	for i := 0; i < len(v); i++ {
		if strings.IndexByte(", ;()", v[i]) >= 0 {
			tok(v[start:i])
			b.WriteByte(v[i])
			start = i + 1
		}
	}
	tok(v[start:])
	return b.String()
}

// maskDevice keeps the first four characters of an identifier (an IMEI's
// reporting body, a UUID's first hex digits) and its shape.
func maskDevice(v string) string {
	if len(v) < 12 {
		return stars(v)
	}
	var b strings.Builder
	for i, r := range v {
		switch {
		case i < 4:
			b.WriteRune(r)
		case r == '-' || r == ':':
			b.WriteRune(r)
		default:
			b.WriteByte('*')
		}
	}
	return b.String()
}

// maskToken names a JSON Web Token by its algorithm and keeps a known key
// prefix ("AKIA", "sk_live_", "ghp_"), dropping the rest.
func maskToken(v string) string {
	if alg, ok := jwtAlg(v); ok {
		return "JWT(" + clipRunes(alg, 12) + ")…[REDACTED]"
	}
	if strings.HasPrefix(v, "-----BEGIN") {
		if i := strings.Index(v[5:], "-----"); i > 0 {
			return v[:i+10] + "[REDACTED]"
		}
	}
	for _, p := range tokenPrefixes {
		if strings.HasPrefix(v, p) && len(v) > len(p)+8 {
			return p + "…[REDACTED]"
		}
	}
	if len(v) < 16 {
		return "[REDACTED]"
	}
	return v[:3] + "…[REDACTED]"
}

// tokenPrefixes are key prefixes that name the issuer and kind, not the
// secret. Longer prefixes come first.
var tokenPrefixes = []string{
	"github_pat_", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "sk-proj-", "xoxb-", "xoxp-", "xoxa-", "xoxr-", "xoxs-",
	"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "glpat-", "AKIA", "ASIA", "AIza", "SG.", "key-", "sk-",
}

// jwtAlg reads the alg of a token shaped header.payload.signature.
func jwtAlg(v string) (string, bool) {
	i := strings.IndexByte(v, '.')
	if !strings.HasPrefix(v, "eyJ") || i < 0 {
		return "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(v[:i], "="))
	if err != nil {
		return "", false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil || h.Alg == "" {
		return "", false
	}
	return h.Alg, true
}

// maskIP keeps the first octet of an IPv4 address, the first group of an
// IPv6 one.
func maskIP(v string) string {
	a, err := netip.ParseAddr(v)
	if err != nil {
		if ap, err2 := netip.ParseAddrPort(v); err2 == nil {
			a = ap.Addr()
		} else {
			return generic(v)
		}
	}
	if a.Is4() {
		return strconv.Itoa(int(a.As4()[0])) + ".*.*.*"
	}
	s := a.String()
	if i := strings.IndexByte(s, ':'); i > 0 {
		return s[:i] + ":*"
	}
	return "*"
}

// initials keeps each word's first character: "Amelia Hartmann" → "A*** H***".
func initials(v string) string {
	words := strings.FieldsFunc(v, func(r rune) bool { return unicode.IsSpace(r) || r == ',' })
	if len(words) > 8 {
		words = words[:8]
	}
	for i, w := range words {
		words[i] = first(w) + "***"
	}
	return strings.Join(words, " ")
}

// keepLast2 masks every letter and digit but the last two, keeping
// separators: "536-22-1941" → "***-**-**41".
func keepLast2(v string) string {
	n := 0
	for _, r := range v {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			n++
		}
	}
	if n < 6 {
		return stars(v)
	}
	var b strings.Builder
	seen := 0
	for _, r := range v {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			seen++
			if seen <= n-2 {
				b.WriteByte('*')
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

// generic keeps the first character and says how long the value was, in
// rough terms.
func generic(v string) string {
	if utf8.RuneCountInString(v) <= 4 {
		return "****"
	}
	return first(v) + "***"
}

func first(s string) string {
	r, _ := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return "*"
	}
	return string(r)
}

func stars(v string) string {
	return strings.Repeat("*", min(utf8.RuneCountInString(v), 8))
}

func digits(v string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, v)
}

// isParam tells a crypt parameter (bcrypt's cost "12", argon2's "v=19",
// sha-crypt's "rounds=5000") from a salt.
func isParam(s string) bool {
	return s != "" && (digits(s) == s || strings.Contains(s, "="))
}

func isHex(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
