package assess

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
)

// Sign kinds. All but SignHoneypot mean the store was already compromised.
const (
	SignRansomNote    = "ransom-note"
	SignWiped         = "wiped"
	SignMeow          = "meow"
	SignRedisCron     = "redis-cron"
	SignRedisSSHKey   = "redis-ssh-key"
	SignForeignMaster = "foreign-master"
	SignHoneypot      = "honeypot"
)

// SignKinds lists every kind, compromise first.
var SignKinds = []string{SignRansomNote, SignWiped, SignMeow, SignRedisCron, SignRedisSSHKey, SignForeignMaster, SignHoneypot}

// Compromised reports whether a sign kind says the store was already
// attacked (every kind but honeypot, which says it may be staged).
func Compromised(kind string) bool { return kind != SignHoneypot && kind != "" }

// Signs draws compromise and honeypot signs from a result (its inventory,
// facts and banner) and the records sampled from it. Details pass through
// redact: a sign names where it was seen and what, never a record's text.
func Signs(r *gown.Result, samples []gown.Sample) []gown.Sign {
	signs, _ := signsAndNotes(r, samples)
	return signs
}

// signsAndNotes is Signs that also says which samples are notes (by name
// or text), so that Analyze does not count an attacker's contact address
// as the victims' data.
func signsAndNotes(r *gown.Result, samples []gown.Sample) ([]gown.Sign, map[int]bool) {
	if r == nil {
		return nil, nil
	}
	var b signBuilder
	b.inventoryNames(r)
	notes := map[int]bool{}
	for i := range samples {
		if b.sample(r, &samples[i]) {
			notes[i] = true
		}
	}
	b.wiped(r)
	b.replication(r)
	b.persistence(r)
	b.signs = append(b.signs, honeypotSigns(r)...)
	return b.finish(), notes
}

// signBuilder collects signs, merging what it learns of one note.
type signBuilder struct {
	notes []*note
	meow  []string
	signs []gown.Sign
	// noteRecords counts note records per database, for the wipe check.
	noteRecords map[string]int
	noteDBs     map[string]bool // databases whose own name is a note
}

// note is one ransom note in the making.
type note struct {
	where  string
	name   []string // name cues
	text   textNote
	byText bool
}

func (b *signBuilder) note(where string) *note {
	for _, n := range b.notes {
		if n.where == where || strings.HasPrefix(where, n.where+"/") {
			return n
		}
	}
	n := &note{where: where}
	b.notes = append(b.notes, n)
	return n
}

// inventoryNames scores the names the server listed.
func (b *signBuilder) inventoryNames(r *gown.Result) {
	if r.Inventory == nil {
		return
	}
	for _, d := range r.Inventory.Databases {
		b.name(d.Name, d.Name, true)
	}
}

// name scores one name; db says it names a whole database.
func (b *signBuilder) name(name, where string, db bool) bool {
	if meowName.MatchString(name) {
		if !contains(b.meow, where) {
			b.meow = append(b.meow, where)
		}
		b.markDB(where, db)
		return true
	}
	score, labels := nameScore(name)
	if score < nameThreshold {
		return false
	}
	n := b.note(where)
	for _, l := range labels {
		if !contains(n.name, l) {
			n.name = append(n.name, l)
		}
	}
	b.markDB(where, db)
	return true
}

func (b *signBuilder) markDB(where string, db bool) {
	if !db {
		return
	}
	if b.noteDBs == nil {
		b.noteDBs = map[string]bool{}
	}
	b.noteDBs[where] = true
}

// sample checks one record: its names, its text, and for Redis the
// takeover keys. It reports whether the record is a note or wipe mark.
func (b *signBuilder) sample(r *gown.Result, s *gown.Sample) bool {
	where := s.Database
	isNote := b.name(s.Database, where, true)
	if s.Collection != "" {
		where += "/" + s.Collection
		isNote = b.name(s.Collection, where, false) || isNote
	}
	if s.Key != "" {
		where += "/" + s.Key
		isNote = b.name(s.Key, where, false) || isNote
	}
	var text strings.Builder
	allMeow, values := true, 0
	for _, f := range s.Fields {
		v := cut(f.Value, maxValueBytes)
		if strings.TrimSpace(v) != "" {
			values++
			allMeow = allMeow && strings.EqualFold(strings.TrimSpace(v), "meow")
		}
		text.WriteString(v)
		text.WriteByte('\n')
		if r.Store == "redis" && (len(s.Fields) == 1 || genericNames[render(words(f.Path))]) {
			// The takeover SETs a plain string key; a JSON document's field
			// holding a public key is an application's data.
			b.redisValue(where, v)
		}
	}
	if values > 0 && allMeow {
		if !contains(b.meow, where) {
			b.meow = append(b.meow, where)
		}
		isNote = true
	}
	if t := scanText(text.String()); t.isNote() {
		n := b.note(where)
		n.text, n.byText = t, true
		isNote = true
	}
	if isNote {
		if b.noteRecords == nil {
			b.noteRecords = map[string]int{}
		}
		b.noteRecords[s.Database]++
	}
	return isNote
}

// redisValue looks for the classic takeover: CONFIG SET dir and
// dbfilename turn a key's value into a crontab or authorized_keys file.
func (b *signBuilder) redisValue(where, v string) {
	if m := cronLine.FindString(v); m != "" {
		b.signs = append(b.signs, gown.Sign{Kind: SignRedisCron, Where: where,
			Detail: "value holds a cron job that downloads and runs code: " + clipLine(m, 120)})
	}
	if m := sshKey.FindStringSubmatch(v); m != nil {
		d := fmt.Sprintf("value holds an SSH public key (%s %s)", m[1], fingerprint(m[2]))
		if strings.Contains(v, "\n\n") {
			d += " padded with blank lines, as written to authorized_keys through CONFIG SET dir"
		}
		b.signs = append(b.signs, gown.Sign{Kind: SignRedisSSHKey, Where: where, Detail: d})
	}
}

// fingerprint is the OpenSSH SHA256 fingerprint of a key blob.
func fingerprint(blob string) string {
	raw, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		return "unreadable key"
	}
	sum := sha256.Sum256(raw)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// wiped says a store holds nothing but notes: every user database is a
// note, is empty, or holds no more records than the notes sampled in it.
func (b *signBuilder) wiped(r *gown.Result) {
	if r.Inventory == nil || (len(b.notes) == 0 && len(b.meow) == 0) {
		return
	}
	var notes []string
	rest := 0
	for _, d := range r.Inventory.Databases {
		switch {
		case d.System:
		case b.noteDBs[d.Name]:
			notes = append(notes, d.Name)
		case d.Items == 0:
		case b.noteRecords[d.Name] > 0 && d.Items <= uint64(b.noteRecords[d.Name]):
			notes = append(notes, d.Name)
		default:
			rest++
		}
	}
	if rest > 0 || len(notes) == 0 {
		return
	}
	b.signs = append(b.signs, gown.Sign{Kind: SignWiped, Where: notes[0],
		Detail: fmt.Sprintf("the store holds nothing but %s: %s", plural(len(notes), "a ransom note or wipe mark", "ransom notes or wipe marks"), strings.Join(clipList(notes, 4), ", "))})
}

// replication reads the master a replica copies from: one on another
// network is the mark of the rogue-master attack.
func (b *signBuilder) replication(r *gown.Result) {
	rep := r.Facts.Replica
	if rep == nil || rep.Host == "" {
		return
	}
	m, err := netip.ParseAddr(rep.Host)
	if err != nil || !foreignTo(m, r.Target) {
		return
	}
	port := uint16(6379) // Redis's, the one store that reports its master today
	if rep.Port > 0 && rep.Port <= 0xffff {
		port = uint16(rep.Port)
	}
	// The wording is Redis's (role:slave): Redis is the one store whose
	// prober reports a master today.
	detail := fmt.Sprintf("replica of %s (role:slave): a master on another network controls this server's data, as in the rogue-master attack that loads a module",
		netip.AddrPortFrom(m, port).String())
	if rep.Link != "" {
		detail += "; link " + rep.Link
	}
	b.signs = append(b.signs, gown.Sign{Kind: SignForeignMaster, Where: "replication", Detail: detail})
}

// persistence reads where the store writes its data: a dir or file name
// pointing at cron or SSH files is the takeover's CONFIG SET, seen after
// the fact.
func (b *signBuilder) persistence(r *gown.Result) {
	p := r.Facts.Persistence
	if p == nil {
		return
	}
	dir, file := strings.ToLower(p.Dir), strings.ToLower(p.File)
	switch {
	case strings.Contains(dir, "cron") || file == "crontab" || (strings.Contains(dir, "/var/spool") && file == "root"):
		b.signs = append(b.signs, gown.Sign{Kind: SignRedisCron, Where: "config",
			Detail: fmt.Sprintf("dir %q, dbfilename %q: the next save writes a crontab", p.Dir, p.File)})
	case strings.Contains(dir, ".ssh") || strings.HasPrefix(file, "authorized_keys"):
		b.signs = append(b.signs, gown.Sign{Kind: SignRedisSSHKey, Where: "config",
			Detail: fmt.Sprintf("dir %q, dbfilename %q: the next save writes authorized_keys", p.Dir, p.File)})
	}
}

// foreignTo says a replication master is on another network than the
// target: a public address outside the target's /24 (IPv4) or /48 (IPv6).
// Loopback, private and link-local masters are the operator's own; names
// cannot be judged without DNS and are left alone.
func foreignTo(m netip.Addr, t gown.Target) bool {
	m = m.Unmap()
	if !m.IsGlobalUnicast() || m.IsPrivate() {
		return false
	}
	a := t.Addr
	if !a.IsValid() {
		a, _ = netip.ParseAddr(t.Host)
	}
	if !a.IsValid() {
		return true
	}
	a = a.Unmap()
	if a.Is4() != m.Is4() {
		return true
	}
	bits := 24
	if !a.Is4() {
		bits = 48
	}
	pa, _ := a.Prefix(bits)
	return !pa.Contains(m)
}

// finish writes the notes and meow marks as signs, redacts every detail
// and where, and sorts: by kind in SignKinds order, then where.
func (b *signBuilder) finish() []gown.Sign {
	for _, n := range b.notes {
		b.signs = append(b.signs, gown.Sign{Kind: SignRansomNote, Where: n.where, Detail: n.detail()})
	}
	if len(b.meow) > 0 {
		b.signs = append(b.signs, gown.Sign{Kind: SignMeow, Where: b.meow[0],
			Detail: fmt.Sprintf("%d %s named or filled like the 2020 Meow bot's wipe (random name ending in -meow, values \"meow\"): %s",
				len(b.meow), plural(len(b.meow), "place", "places"), strings.Join(clipList(b.meow, 4), ", "))})
	}
	seen := map[[3]string]bool{}
	out := b.signs[:0]
	for _, s := range b.signs {
		s.Where, s.Detail = redact.String(clipLine(s.Where, 160)), redact.String(clipLine(s.Detail, 600))
		k := [3]string{s.Kind, s.Where, s.Detail}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := kindRank(out[i].Kind), kindRank(out[j].Kind); ri != rj {
			return ri < rj
		}
		return out[i].Where < out[j].Where
	})
	if len(out) == 0 {
		return nil
	}
	return out
}

// detail says why a note is one: the cues of its name and what its text
// holds (the bitcoin address, which is the attacker's and no personal
// datum, and the contact address, masked).
func (n *note) detail() string {
	var parts []string
	if len(n.name) > 0 {
		parts = append(parts, "named like a ransom note ("+strings.Join(n.name, ", ")+")")
	}
	if n.byText {
		t := n.text
		var what []string
		if t.btc != "" {
			what = append(what, "bitcoin address "+t.btc)
		}
		if t.contact != "" {
			what = append(what, "contact e-mail "+redact.MaskEmail(t.contact))
		}
		if w := append(append([]string(nil), t.loss...), t.pay...); len(w) > 0 {
			what = append(what, "words: "+strings.Join(w, ", "))
		}
		parts = append(parts, "text demands ransom ("+strings.Join(what, "; ")+")")
	}
	return strings.Join(parts, "; ")
}

func kindRank(k string) int {
	for i, x := range SignKinds {
		if x == k {
			return i
		}
	}
	return len(SignKinds)
}

func clipList(l []string, n int) []string {
	if len(l) <= n {
		return l
	}
	return append(append([]string(nil), l[:n]...), fmt.Sprintf("+%d more", len(l)-n))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
