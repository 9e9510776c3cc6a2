package redact

import (
	"strings"

	"github.com/gownscan/gown/internal/lazyre"
)

// digitRun matches a run of nine digits or more, single spaces or dashes
// between them allowed. It has no \b: maskDigits looks at what stands on
// either side, which a \b would decide alone, and wrongly for a card number
// glued to a name ("x_4111111111111111") or to an escape in evidence
// ("\x124111…", "\r\n4111…").
var digitRun = lazyre.New(`\d(?:[ -]?\d){8,}`)

// maskDigits masks the long digit runs of s, keeping the last two digits:
// "[NUM-11]".
//
// A run that stands alone (no letter, digit or "_" either side, what \b
// tells) is masked whatever it holds: a card, a phone number, an id. A run
// glued to a letter or "_" on either side is part of a name or a token, and
// most such runs are ids, dates and counters ("events_1712345678") that
// must stay readable; it is masked where it holds a card number (isCard),
// and otherwise on the part that a separator sets apart from the glued
// ends, as \b would have.
func maskDigits(s string) string {
	locs := digitRun.Regexp().FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		start, end, ok := digitMask(s, l[0], l[1])
		if !ok {
			continue
		}
		d := digits(s[start:end])
		b.WriteString(s[last:start])
		b.WriteString("[NUM-" + d[len(d)-2:] + "]")
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// digitMask decides what of the run s[start:end] to mask: the part
// [from, to), if any.
func digitMask(s string, start, end int) (from, to int, ok bool) {
	gluedL := start > 0 && wordByte(s[start-1])
	gluedR := end < len(s) && wordByte(s[end])
	if !gluedL && !gluedR {
		return start, end, true
	}
	// The digits of an escape the run continues belong to the escape:
	// "\x12" + "4111…" is one run to the expression. (A literal "\x"
	// before a card is no escape: the whole run is tried too.)
	if skip := escapeDigits(s, start); skip > 0 && start+skip < end {
		from, to, ok = cardIn(s, start+skip, end)
	}
	if !ok {
		from, to, ok = cardIn(s, start, end)
	}
	// As \b would: a glued end is cut off at the separator nearest it,
	// and what is left is masked when it holds nine digits.
	f, t := start, end
	if gluedL {
		f = end
		if i := strings.IndexAny(s[start:end], " -"); i >= 0 {
			f = start + i + 1
		}
	}
	if gluedR {
		t = f
		if i := strings.LastIndexAny(s[f:end], " -"); i >= 0 {
			t = f + i
		}
	}
	if t > f && len(digits(s[f:t])) >= 9 {
		if !ok {
			return f, t, true
		}
		return min(from, f), max(to, t), true
	}
	return from, to, ok
}

// cardIn finds the first and longest card number (isCard) in the run
// s[start:end] that begins at its start or after a separator and ends at
// its end or before one: "4111111111111111 01" holds one. A card has at
// most 19 digits, so each start looks that far only: a hostile name of a
// million separated digits costs linear time.
func cardIn(s string, start, end int) (from, to int, ok bool) {
	run := s[start:end]
	for i := 0; i < len(run); i++ {
		if i > 0 && !isSep(run[i-1]) {
			continue
		}
		best, n := -1, 0
		for j := i; j < len(run); j++ {
			if !isDigit(run[j]) {
				continue
			}
			if n++; n > 19 {
				break
			}
			if n >= 12 && (j+1 == len(run) || isSep(run[j+1])) && isCard(digits(run[i:j+1])) {
				best = j + 1
			}
		}
		if best >= 0 {
			return start + i, start + best, true
		}
	}
	return 0, 0, false
}

func isSep(c byte) bool { return c == ' ' || c == '-' }

// wordByte reports an ASCII letter, digit or "_": what \b tells from the
// rest.
func wordByte(c byte) bool {
	return c == '_' || isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'z'
}

// escapeDigits counts the characters at s[start:] that belong to an escape
// of Bytes or Text (\xNN, \uNNNN) begun before start.
func escapeDigits(s string, start int) int {
	for i := start - 1; i >= 0 && i >= start-5; i-- {
		if s[i] != '\\' || i+1 >= len(s) {
			continue
		}
		n := 0
		switch s[i+1] {
		case 'x':
			n = 4
		case 'u':
			n = 6
		}
		if i+n > start {
			return i + n - start
		}
		return 0
	}
	return 0
}

// isCard reports whether d, a string of digits, has a payment card's
// length (12 to 19), a card's first digit (2 to 6: the industries of the
// card networks in ISO/IEC 7812, Mastercard's 2-series and Mir to
// Discover, UnionPay and Maestro's 6) and passes the Luhn check. The first
// digit keeps the ids a name most often carries out, millisecond times and
// snowflake ids (1…); the Luhn check passes one other number in ten.
func isCard(d string) bool {
	if len(d) < 12 || len(d) > 19 || d[0] < '2' || d[0] > '6' {
		return false
	}
	sum := 0
	for i := 0; i < len(d); i++ {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}
