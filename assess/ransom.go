package assess

import (
	"strings"

	"github.com/gownscan/gown/internal/lazyre"
)

// Ransom notes are recognised by score, not by one word: a database named
// "backup" is an ordinary backup, "backup_how_to_restore" or "README" is a
// note. Names and text are scored apart; either can make a note.

// cue is one thing a ransom note's name or text says, with its weight.
type cue struct {
	label string
	score int
	re    *lazyre.Regexp
}

func cues(rows ...cue) []cue { return rows }

func w(label string, score int, pattern string) cue {
	return cue{label: label, score: score, re: lazyre.New(pattern)}
}

// nameThreshold is the score at which a name is a note by itself.
const nameThreshold = 3

// nameCues are matched against a name's words ("READ_ME_TO_RECOVER" →
// "_read_me_to_recover_"); each counts once.
var nameCues = cues(
	w("read me", 3, `_(read_me|readme|read_this|readthis)_`),
	w("please read", 3, `_please_read_`),
	w("warning", 3, `^_(warning|warn)_$`),
	w("recover", 2, `_(recover|recovery|recovering|retrieve)_`),
	w("how to", 2, `_(how_to|howto)_(recover|restore|get|back|retrieve|return|decrypt|unlock)_`),
	w("your data", 2, `_your_(data|database|databases|db|dbs|files|info|index|indices|collection|collections|tables)_`),
	w("ransom", 2, `_(ransom|bitcoin|btc|decrypt|decryption|hacked|pwned|leaked|leak|dumped|stolen|pay|payment_required)_`),
	w("backup", 1, `_(backup|backups|backed|restore|restoration|restored)_`),
	w("warning", 1, `_(warning|attention|important|notice|instructions|instruction)_`),
	w("contact", 1, `_(contact|email|mail|write)_`),
)

// Text cues: words of a note's body. Loss words say the data is gone or
// held; pay words ask for money.
var (
	lossWords = cues(
		w("recover", 1, `(?i)\b(recover|recovery|retrieve)\b`),
		w("restore", 1, `(?i)\b(restore|restored|restoration)\b`),
		w("backed up", 1, `(?i)\b(backed up|backup|backups|copied|exported)\b`),
		w("deleted", 1, `(?i)\b(deleted|dropped|wiped|erased|removed all)\b`),
		w("leak", 1, `(?i)\b(leak|leaked|leaking|publish|published|sell|sold)\b`),
		w("dumped", 1, `(?i)\b(dumped|downloaded|stolen)\b`),
		w("decrypt", 1, `(?i)\b(decrypt|decryption|encrypted)\b`),
		w("your data", 1, `(?i)\byour (data|database|databases|db|files|records|tables|index|indices)\b`),
		w("gdpr", 1, `(?i)\b(gdpr|data protection authority)\b`),
	)
	payWords = cues(
		w("pay", 1, `(?i)\b(pay|paid|paying|payment)\b`),
		w("bitcoin", 1, `(?i)\b(bitcoin|btc|monero|xmr|ransom)\b`),
		w("deadline", 1, `(?i)\bwithin \d+ ?(hours|hrs|h|days)\b|\b\d+ ?(hours|days) (to|or)\b`),
	)
)

// nameScore scores a database, collection, table or key name.
func nameScore(name string) (int, []string) {
	ws := render(words(name))
	if ws == "" {
		return 0, nil
	}
	score := 0
	var labels []string
	for _, c := range nameCues {
		if c.re.MatchString(ws) && !contains(labels, c.label) {
			score += c.score
			labels = append(labels, c.label)
		}
	}
	return score, labels
}

// textNote is what a record's text says of ransom.
type textNote struct {
	btc, contact string
	loss, pay    []string
}

// isNote decides: a valid bitcoin address with a word of loss, or a
// contact address with two words of loss and one of payment.
func (t textNote) isNote() bool {
	return t.btc != "" && len(t.loss) >= 1 || t.contact != "" && len(t.loss) >= 2 && len(t.pay) >= 1
}

// scanText reads a record's text for a ransom note.
func scanText(text string) textNote {
	var t textNote
	t.btc, _ = findBitcoin(text)
	if m := emailInText.FindString(text); m != "" {
		t.contact = m
	}
	for _, c := range lossWords {
		if c.re.MatchString(text) {
			t.loss = append(t.loss, c.label)
		}
	}
	for _, c := range payWords {
		if c.re.MatchString(text) {
			t.pay = append(t.pay, c.label)
		}
	}
	return t
}

// meowName matches the names the 2020 Meow bot left: a random lowercase run
// and "-meow".
var meowName = lazyre.New(`(?i)^[a-z0-9]{5,20}[-_]meow$`)

// cronLine matches a crontab entry that downloads and runs something: five
// time fields (or @reboot) then a command calling a downloader or a shell.
var cronLine = lazyre.New(`(?m)^[\s\x00-\x1f]*(?:@reboot|@hourly|@daily|@weekly|(?:[0-9*/,-]+[ \t]+){4}[0-9*/,-]+)[ \t]+(?:root[ \t]+)?[^\n]*\b(?:curl|wget|sh|bash|python[0-9.]*|perl|nc|ncat|busybox|tftp|base64|lwp-download)\b[^\n]*`)

// sshKey matches an OpenSSH public key line.
var sshKey = lazyre.New(`(ssh-rsa|ssh-ed25519|ssh-dss|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) (AAAA[0-9A-Za-z+/]{20,}={0,3})`)

// clipLine trims a line for a sign's detail.
func clipLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = cut(s, n) + "…"
	}
	return s
}
