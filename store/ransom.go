package store

import (
	"strings"

	"github.com/gownscan/gown"
)

// ransomWords are fragments of the names ransom bots give the one database,
// index or collection they leave behind in a wiped store ("README",
// "READ_ME_TO_RECOVER_YOUR_DATA", "meow" of the 2020 Meow bot). Ransom
// detection proper is assess's, whose signs the results carry; the diff
// uses these names only for results stored without any assessment.
var ransomWords = []string{"readme", "read_me", "read-me", "recover", "warning", "meow", "please_read", "please-read"}

// RansomLike reports whether a database name looks like a ransom note.
func RansomLike(name string) bool {
	n := strings.ToLower(name)
	for _, w := range ransomWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// Wiped reports whether a service that held itemsBefore items now holds
// (almost) nothing but ransom-like names, and returns those names. "Almost
// nothing" is at most 1% of before, and never more than 10 items: a bot
// leaves a note, not data.
func Wiped(itemsBefore uint64, after *gown.Inventory) ([]string, bool) {
	if itemsBefore == 0 || after == nil {
		return nil, false
	}
	var notes []string
	var rest uint64
	for _, d := range after.Databases {
		switch {
		case RansomLike(d.Name):
			notes = append(notes, d.Name)
		case !d.System:
			rest += d.Items
		}
	}
	residue := min(itemsBefore/100, 10)
	return notes, len(notes) > 0 && rest <= residue
}
