package assess

import (
	"strconv"
	"strings"

	"github.com/gownscan/gown/internal/lazyre"
)

// Validators: each says whether a value is, by its own structure and check
// digits, what a class claims. They look at the value only; the field-name
// context is the detector table's business (detect.go).

// luhn checks the mod-10 check digit of a digit string (cards, IMEIs).
func luhn(d string) bool {
	if len(d) < 2 {
		return false
	}
	sum, dbl := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		c := d[i]
		if c < '0' || c > '9' {
			return false
		}
		n := int(c - '0')
		if dbl {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
		dbl = !dbl
	}
	return sum%10 == 0
}

// groupedDigits returns the digits of v when v is digits with optional
// single spaces or dashes between them, and nothing else.
func groupedDigits(v string) (string, bool) {
	var b strings.Builder
	prevSep := true
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			b.WriteByte(c)
			prevSep = false
		case (c == ' ' || c == '-') && !prevSep:
			prevSep = true
		default:
			return "", false
		}
	}
	if prevSep {
		return "", false
	}
	return b.String(), true
}

func sameDigit(d string) bool {
	return strings.Count(d, d[:1]) == len(d)
}

// cardBrand is one issuer range: the first digits and the card lengths.
type cardBrand struct {
	name    string
	lo, hi  int // prefix range, inclusive, of len(lo) digits
	lengths []int
}

// cardBrands lists the issuer identification ranges of the networks whose
// cards a mobile app's back end takes (ISO/IEC 7812 IIN ranges as the
// networks publish them). A Luhn-valid number outside every range is not
// called a card without a card-like field name. Visa's 13-digit numbers are
// left out: none have been issued for years, and EAN-13 barcodes that start
// with 4 would pass.
var cardBrands = []cardBrand{
	{"visa", 4, 4, []int{16, 19}},
	{"mastercard", 51, 55, []int{16}},
	{"mastercard", 2221, 2720, []int{16}},
	{"amex", 34, 34, []int{15}},
	{"amex", 37, 37, []int{15}},
	{"discover", 6011, 6011, []int{16, 17, 18, 19}},
	{"discover", 644, 649, []int{16, 17, 18, 19}},
	{"discover", 65, 65, []int{16, 17, 18, 19}},
	{"diners", 300, 305, []int{14, 15, 16, 17, 18, 19}},
	{"diners", 36, 36, []int{14, 15, 16, 17, 18, 19}},
	{"diners", 38, 39, []int{16, 17, 18, 19}},
	{"jcb", 3528, 3589, []int{16, 17, 18, 19}},
	{"unionpay", 62, 62, []int{16, 17, 18, 19}},
	{"maestro", 50, 50, []int{12, 13, 14, 15, 16, 17, 18, 19}},
	{"maestro", 56, 58, []int{12, 13, 14, 15, 16, 17, 18, 19}},
	{"mir", 2200, 2204, []int{16, 17, 18, 19}},
}

// cardDigits returns the digits of a value shaped like a card number:
// 13 to 19 digits, grouped or not, Luhn-valid, not one repeated digit.
func cardDigits(v string) (string, bool) {
	d, ok := groupedDigits(strings.TrimSpace(v))
	if !ok || len(d) < 13 || len(d) > 19 || sameDigit(d) || !luhn(d) {
		return "", false
	}
	return d, true
}

// isCard says v is a payment card number of a known network.
func isCard(v string) bool {
	d, ok := cardDigits(v)
	if !ok {
		return false
	}
	for _, b := range cardBrands {
		p := len(strconv.Itoa(b.lo))
		n, _ := strconv.Atoi(d[:p])
		if n >= b.lo && n <= b.hi {
			for _, l := range b.lengths {
				if l == len(d) {
					return true
				}
			}
		}
	}
	return false
}

// isCardLoose accepts any Luhn-valid 13–19 digit number: used only where
// the field name says card.
func isCardLoose(v string) bool {
	_, ok := cardDigits(v)
	return ok
}

// ibanLengths is the length of an IBAN per country (SWIFT IBAN registry).
var ibanLengths = map[string]int{
	"AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29,
	"BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28,
	"HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
	"LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
	"MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29,
	"RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28,
	"TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

// isIBAN checks an IBAN's country, length and ISO 7064 mod-97 check digits.
// Spaces between groups are allowed.
func isIBAN(v string) bool {
	s := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(v), " ", ""))
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	if n, ok := ibanLengths[s[:2]]; !ok || n != len(s) {
		return false
	}
	if s[2] < '0' || s[2] > '9' || s[3] < '0' || s[3] > '9' {
		return false
	}
	// Move the first four characters to the end, letters become 10..35,
	// and the whole number mod 97 must be 1; computed digit by digit.
	r := s[4:] + s[:4]
	rem := 0
	for i := 0; i < len(r); i++ {
		c := r[i]
		switch {
		case c >= '0' && c <= '9':
			rem = (rem*10 + int(c-'0')) % 97
		case c >= 'A' && c <= 'Z':
			rem = (rem*100 + int(c-'A') + 10) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// isSSN checks a US Social Security number written NNN-NN-NNNN: area not
// 000, 666 or 9xx, group not 00, serial not 0000.
func isSSN(v string) bool {
	m := ssnRe.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return false
	}
	return m[1] != "000" && m[1] != "666" && m[1][0] != '9' && m[2] != "00" && m[3] != "0000"
}

var ssnRe = lazyre.New(`^(\d{3})-(\d{2})-(\d{4})$`)

// isCPF checks a Brazilian CPF written NNN.NNN.NNN-NN by its two check digits.
func isCPF(v string) bool {
	if !cpfRe.MatchString(strings.TrimSpace(v)) {
		return false
	}
	d := digitsOf(v)
	if sameDigit(d) {
		return false
	}
	for _, n := range []int{9, 10} {
		sum := 0
		for i := 0; i < n; i++ {
			sum += int(d[i]-'0') * (n + 1 - i)
		}
		c := sum * 10 % 11 % 10
		if c != int(d[n]-'0') {
			return false
		}
	}
	return true
}

var cpfRe = lazyre.New(`^\d{3}\.\d{3}\.\d{3}-\d{2}$`)

// isGovID accepts what a field named like a government id holds: 5 to 20
// letters, digits, spaces, dots or dashes with at least four digits.
func isGovID(v string) bool {
	v = strings.TrimSpace(v)
	if len(v) < 5 || len(v) > 20 {
		return false
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == ' ' || r == '-' || r == '.') {
			return false
		}
	}
	d := digitsOf(v)
	return len(d) >= 4 && !sameDigit(d)
}

// isIMEI checks a 15-digit IMEI by its Luhn check digit, or a 14-digit
// IMEI/MEID without one, or a 16-digit IMEISV.
func isIMEI(v string) bool {
	d, ok := groupedDigits(strings.TrimSpace(v))
	if !ok || sameDigit(d) {
		return false
	}
	switch len(d) {
	case 15:
		return luhn(d)
	case 14, 16:
		return true
	}
	return false
}

var uuidRe = lazyre.New(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// isDeviceID accepts the shapes of advertising and hardware ids: a UUID
// (IDFA, GAID, IDFV) that is not all zeros (the opted-out IDFA), 16 hex
// digits (Android ID), 40 hex digits (old iOS UDID), or an IMEI.
func isDeviceID(v string) bool {
	v = strings.TrimSpace(v)
	switch {
	case uuidRe.MatchString(v):
		return strings.Trim(v, "0-") != ""
	case (len(v) == 16 || len(v) == 40) && isHexStr(v):
		return strings.Trim(v, "0") != ""
	}
	return isIMEI(v)
}

// isPushToken accepts a push registration token: 32 or more URL-safe
// characters (FCM) or 64 hex digits (APNs).
func isPushToken(v string) bool {
	v = strings.TrimSpace(v)
	return len(v) >= 32 && len(v) <= 4096 && tokenish(v, 32)
}
