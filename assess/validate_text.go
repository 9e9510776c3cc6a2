package assess

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gownscan/gown/internal/lazyre"
)

// Validators for values that are text rather than numbers: tokens, hashes,
// addresses, names, coordinates.

// jwtRe finds candidates for JSON Web Tokens in text; isJWT checks them.
var jwtRe = lazyre.New(`eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)

// isJWT checks a JWS compact token: three base64url parts whose header is a
// JSON object naming its "alg" and whose payload is JSON too.
func isJWT(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return false
	}
	var head map[string]any
	if !b64json(parts[0], &head) {
		return false
	}
	if _, ok := head["alg"].(string); !ok {
		return false
	}
	var body any
	return b64json(parts[1], &body)
}

// findJWT reports whether text holds a valid JWT anywhere ("Bearer eyJ...").
func findJWT(text string) (string, bool) {
	if !strings.Contains(text, "eyJ") {
		return "", false
	}
	for _, c := range jwtRe.FindAllString(text, 8) {
		if isJWT(c) {
			return c, true
		}
	}
	return "", false
}

func b64json(s string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// cryptHash recognises password hashes whose format says so on its own:
// modular crypt (bcrypt, argon2, scrypt, sha-crypt, md5-crypt, yescrypt,
// phpass), Django and passlib prefixes, LDAP {SCHEME} values.
var cryptHash = lazyre.New(`^(?:` +
	`\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}` +
	`|\$argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+` +
	`|\$(?:1|5|6)\$(?:rounds=\d+\$)?[^$\s]{1,16}\$[./A-Za-z0-9]{22,86}` +
	`|\$(?:y|7|gy)\$[./A-Za-z0-9$]{20,}` +
	`|\$scrypt\$[^\s]{20,}` +
	`|\$[PH]\$[./A-Za-z0-9]{31}` +
	`|\$pbkdf2(?:-sha\d+)?\$\d+\$[./A-Za-z0-9+]+\$[./A-Za-z0-9+]+` +
	`|(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256|bcrypt|scrypt)\$[^\s]{20,}` +
	`|sha1\$[A-Za-z0-9]+\$[0-9a-f]{40}` +
	`|\{(?:SSHA|SHA|SSHA256|SSHA512|SHA256|SHA512|MD5|SMD5|CRYPT|PBKDF2[-A-Z0-9]*|ARGON2)\}[^\s]{8,}` +
	`)$`)

func isCryptHash(v string) bool { return cryptHash.MatchString(strings.TrimSpace(v)) }

// isDigestHash recognises a bare digest a password column holds: the hex
// of MD5, SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512, or the base64 of
// one (with or without a salt appended). Only with a password field name:
// the same shapes are file hashes and ETags elsewhere.
func isDigestHash(v string) bool {
	v = strings.TrimSpace(v)
	switch len(v) {
	case 32, 40, 56, 64, 96, 128:
		if isHexStr(v) {
			return true
		}
	}
	if len(v) >= 24 && len(v) <= 120 && strings.HasSuffix(v, "=") {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil && len(b) >= 16 {
			return true
		}
	}
	return false
}

func isAnyHash(v string) bool { return isCryptHash(v) || isDigestHash(v) }

// isPlaintextPassword accepts what a password field holds when it is not a
// hash: anything but blanks, placeholders and booleans.
func isPlaintextPassword(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 128 || isAnyHash(v) {
		return false
	}
	switch strings.ToLower(v) {
	case "null", "nil", "none", "undefined", "true", "false", "0", "1", "[redacted]", "redacted", "<hidden>", "hidden", "n/a", "-":
		return false
	}
	return strings.Trim(v, "*•x") != ""
}

func isHexStr(v string) bool {
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

// tokenish says v looks like a secret token: at least min characters, no
// spaces, letters and digits mixed.
func tokenish(v string, min int) bool {
	if len(v) < min || len(v) > 8192 || strings.ContainsAny(v, " \t\r\n") {
		return false
	}
	letters, digits := 0, 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters++
		}
	}
	return letters > 0 && digits > 0 && letters+digits >= len(v)*3/4
}

func isToken(v string) bool { return tokenish(strings.TrimSpace(v), 16) }

// emailRe is an address as apps store it; whole values only.
var emailRe = lazyre.New(`^[A-Za-z0-9._%+'-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}$`)

// emailInText finds an address inside free text.
var emailInText = lazyre.New(`[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b`)

// fileExtensions are "top-level domains" that are file names: iOS assets
// are named "icon@2x.png", which an address pattern takes for a mailbox.
var fileExtensions = map[string]bool{
	"png": true, "jpg": true, "jpeg": true, "gif": true, "svg": true, "webp": true, "heic": true, "ico": true,
	"pdf": true, "js": true, "css": true, "json": true, "xml": true, "txt": true, "gz": true, "html": true,
	"htm": true, "mp4": true, "mp3": true, "wav": true, "ttf": true, "woff": true, "woff2": true, "plist": true,
}

func isEmail(v string) bool {
	v = strings.TrimSpace(v)
	return emailRe.MatchString(v) && !fileExtensions[strings.ToLower(v[strings.LastIndexByte(v, '.')+1:])]
}

// findEmail finds an e-mail address in a value that is an address or is
// free text (has spaces): "write to x@y.z". A value without spaces that is
// not an address as a whole ("git@host:repo.git") is not one.
func findEmail(v string) (string, bool) {
	t := strings.TrimSpace(v)
	if isEmail(t) {
		return t, true
	}
	if !strings.ContainsAny(t, " \n\t") || !strings.Contains(t, "@") {
		return "", false
	}
	for _, m := range emailInText.FindAllString(t, 8) {
		if isEmail(m) {
			return m, true
		}
	}
	return "", false
}

// phoneChars are what a phone number may hold besides digits.
const phoneChars = " -.()/"

// phoneDigits returns the digits of a value made only of digits, a leading
// "+" and phone separators.
func phoneDigits(v string) (string, bool) {
	v = strings.TrimSpace(v)
	body := strings.TrimPrefix(v, "+")
	if body == "" {
		return "", false
	}
	for _, r := range body {
		if (r < '0' || r > '9') && !strings.ContainsRune(phoneChars, r) {
			return "", false
		}
	}
	d := digitsOf(body)
	if d == "" || sameDigit(d) {
		return "", false
	}
	return d, true
}

// isIntlPhone accepts a number written in international form: "+", a
// country code that does not start with 0, and 8 to 15 digits (E.164); an
// unseparated run needs at least 10 digits, so that "+15000000" (a delta,
// a count) is not a phone.
func isIntlPhone(v string) bool {
	t := strings.TrimSpace(v)
	if !strings.HasPrefix(t, "+") || len(t) < 2 || t[1] < '1' || t[1] > '9' || strings.Contains(t, ".") {
		return false
	}
	d, ok := phoneDigits(t)
	if !ok || len(d) < 8 || len(d) > 15 {
		return false
	}
	if !strings.ContainsAny(t, phoneChars) && len(d) < 10 {
		return false
	}
	return true
}

// isPhone accepts what a field named like a phone holds: 7 to 15 digits.
func isPhone(v string) bool {
	d, ok := phoneDigits(v)
	return ok && len(d) >= 7 && len(d) <= 15
}

// isIP accepts an IP address, optionally with a port.
func isIP(v string) bool {
	_, ok := parseIP(v)
	return ok
}

func parseIP(v string) (netip.Addr, bool) {
	v = strings.TrimSpace(v)
	if a, err := netip.ParseAddr(v); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(v); err == nil {
		return ap.Addr(), true
	}
	return netip.Addr{}, false
}

// isPublicIP accepts an address alone that routes on the Internet: what an
// app records of its users. Private, loopback and special ranges are left
// to field-name context, since dotted version numbers ("1.0.0.1") and
// configuration look alike.
func isPublicIP(v string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil || a.Zone() != "" {
		return false
	}
	a = a.Unmap()
	if !a.IsGlobalUnicast() || a.IsPrivate() {
		return false
	}
	if a.Is4() {
		b := a.As4()
		// Every octet below 10 is far likelier a version than a host.
		return b[0] >= 10 || b[1] >= 10 || b[2] >= 10 || b[3] >= 10
	}
	return true
}

// isPersonName accepts what a name field holds: 2 to 80 characters of
// letters, spaces, hyphens, apostrophes and dots, at most six words, no
// digits.
func isPersonName(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) < 2 || len(v) > 80 {
		return false
	}
	letters := 0
	for _, r := range v {
		switch {
		case r == ' ' || r == '-' || r == '\'' || r == '.' || r == ',' || r == '’':
		case r >= '0' && r <= '9':
			return false
		case isLetter(r):
			letters++
		default:
			return false
		}
	}
	switch strings.ToLower(v) {
	case "null", "none", "unknown", "n/a", "anonymous", "guest", "test", "true", "false":
		return false
	}
	return letters >= 2 && len(strings.Fields(v)) <= 6
}

// isPostal accepts what an address field holds: at least four characters
// with a letter or a digit, not a bare boolean or placeholder.
func isPostal(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) < 4 || len(v) > 300 {
		return false
	}
	switch strings.ToLower(v) {
	case "null", "none", "true", "false", "n/a", "unknown":
		return false
	}
	return strings.IndexFunc(v, func(r rune) bool { return isLetter(r) || r >= '0' && r <= '9' }) >= 0
}

// isPostcode accepts a postal code: 3 to 10 letters, digits, spaces and
// dashes with at least two digits.
func isPostcode(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) < 3 || len(v) > 10 {
		return false
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == ' ' || r == '-') {
			return false
		}
	}
	return len(digitsOf(v)) >= 2
}

func isLetter(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0xC0 && r != 0xD7 && r != 0xF7 && r < 0x2000 || r >= 0x3040 && r <= 0x9FFF || r >= 0xAC00 && r <= 0xD7AF
}

// coord parses one coordinate; decimals counts its fraction digits.
func coord(v string) (f float64, decimals int, ok bool) {
	v = strings.TrimSpace(v)
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, 0, false
	}
	if i := strings.IndexByte(v, '.'); i >= 0 {
		decimals = len(v) - i - 1
	}
	return f, decimals, true
}

// isLatLon checks a latitude and longitude pair: in range, not the (0, 0)
// placeholder, and precise to at least two decimals on one of them (a
// person's whereabouts, not a country's centre).
func isLatLon(lat, lon string) bool {
	a, da, ok1 := coord(lat)
	o, do, ok2 := coord(lon)
	if !ok1 || !ok2 || math.Abs(a) > 90 || math.Abs(o) > 180 || (a == 0 && o == 0) {
		return false
	}
	return da >= 2 || do >= 2
}

// latLonText matches "52.520008,13.404954", "52.52 13.40", "(52.5, 13.4)".
var latLonText = lazyre.New(`^\(?\s*(-?\d{1,2}\.\d+)\s*[, ]\s*(-?\d{1,3}\.\d+)\s*\)?$`)

// isLatLonText checks a "lat,lon" string.
func isLatLonText(v string) bool {
	m := latLonText.FindStringSubmatch(strings.TrimSpace(v))
	return m != nil && isLatLon(m[1], m[2])
}

// wktPoint matches a WKT or EWKT point: "POINT(13.40 52.52)", "SRID=4326;POINT (…)".
var wktPoint = lazyre.New(`(?i)^(?:SRID=\d+;)?POINT\s*Z?\s*\(\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)`)

// isWKTPoint checks a WKT point, longitude first as WKT writes it.
func isWKTPoint(v string) bool {
	m := wktPoint.FindStringSubmatch(strings.TrimSpace(v))
	return m != nil && isLatLon(m[2], m[1])
}

// isGeohash accepts a geohash precise to a few hundred metres or better.
func isGeohash(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) < 6 || len(v) > 12 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !strings.ContainsRune("0123456789bcdefghjkmnpqrstuvwxyz", rune(v[i])) {
			return false
		}
	}
	return true
}

func digitsOf(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] >= '0' && v[i] <= '9' {
			b.WriteByte(v[i])
		}
	}
	return b.String()
}
