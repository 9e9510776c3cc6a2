// Package js finds the strings a JavaScript bundle (React Native,
// Capacitor, Cordova, a web view's page) builds from constants: a
// concatenation such as "redis://" + HOST + ":" + PORT, or a template
// literal such as `https://${HOST}:${PORT}/v1`, where HOST and PORT are
// names assigned a string or number constant once in the text.
//
// It is a bounded tokenizer, not a parser: strings, template literals,
// names, numbers and punctuation, comments skipped, two passes over the
// text. A regular expression literal holding a quote can throw a string
// token off; a name assigned in two scopes with different values is left
// unresolved. What it gives is a candidate, to be reported with a lower
// confidence.
package js

import (
	"strings"
)

// Part is one piece a built string was made of, and the offset in the
// text of the literal that holds it (for a name, of its assignment's
// value).
type Part struct {
	Text string
	Off  int
}

// Built is a string a bundle builds, at the offset of its expression.
type Built struct {
	Value string
	Off   int
	Parts []Part
}

// Caps: a literal's length (longer ones are not followed), a built value's
// length and parts, the names remembered, the strings built per text.
const (
	maxLiteral = 512
	maxValue   = 512
	maxParts   = 16
	maxNames   = 1 << 16
	maxOut     = 1 << 16
)

// token kinds.
const (
	tEOF = iota
	tString
	tTemplate
	tName
	tNumber
	tPunct
)

type token struct {
	kind       int
	start, end int    // the token's bytes
	text       string // a string's or number's value; a name; a punctuation byte
	ok         bool   // a string within maxLiteral with no escape it could not read
}

// lexer walks a text's tokens.
type lexer struct {
	b   []byte
	pos int
}

func isNameByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// next returns the next token.
func (l *lexer) next() token {
	b := l.b
	for l.pos < len(b) {
		c := b[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			l.pos++
			continue
		case c == '/' && l.pos+1 < len(b) && b[l.pos+1] == '/':
			for l.pos < len(b) && b[l.pos] != '\n' {
				l.pos++
			}
			continue
		case c == '/' && l.pos+1 < len(b) && b[l.pos+1] == '*':
			end := strings.Index(string(b[l.pos+2:min(len(b), l.pos+2+1<<20)]), "*/")
			if end < 0 {
				l.pos = len(b)
			} else {
				l.pos += end + 4
			}
			continue
		}
		start := l.pos
		switch {
		case c == '"' || c == '\'':
			return l.str(c)
		case c == '`':
			return l.template()
		case c >= '0' && c <= '9':
			for l.pos < len(b) && (b[l.pos] >= '0' && b[l.pos] <= '9' || b[l.pos] == '.' || b[l.pos] == 'x' || b[l.pos] >= 'a' && b[l.pos] <= 'f') {
				l.pos++
			}
			return token{kind: tNumber, start: start, end: l.pos, text: string(b[start:l.pos]), ok: true}
		case isNameByte(c):
			for l.pos < len(b) && (isNameByte(b[l.pos]) || b[l.pos] == '.' && l.pos+1 < len(b) && isNameByte(b[l.pos+1])) {
				l.pos++
			}
			return token{kind: tName, start: start, end: l.pos, text: string(b[start:l.pos])}
		}
		l.pos++
		return token{kind: tPunct, start: start, end: l.pos, text: string(c)}
	}
	return token{kind: tEOF, start: len(b), end: len(b)}
}

// str reads a quoted string; its value keeps simple escapes (\" \' \\ \/)
// and gives up (ok false) on others or past maxLiteral.
func (l *lexer) str(q byte) token {
	b := l.b
	start := l.pos
	l.pos++
	var sb strings.Builder
	ok := true
	for l.pos < len(b) {
		c := b[l.pos]
		switch {
		case c == q:
			l.pos++
			return token{kind: tString, start: start, end: l.pos, text: sb.String(), ok: ok}
		case c == '\n':
			l.pos++
			return token{kind: tString, start: start, end: l.pos, ok: false}
		case c == '\\' && l.pos+1 < len(b):
			e := b[l.pos+1]
			if e == '"' || e == '\'' || e == '\\' || e == '/' {
				sb.WriteByte(e)
			} else {
				ok = false
			}
			l.pos += 2
			continue
		}
		if sb.Len() < maxLiteral {
			sb.WriteByte(c)
		} else {
			ok = false
		}
		l.pos++
	}
	return token{kind: tString, start: start, end: l.pos, ok: false}
}

// template reads a template literal whole; its text is the raw source
// between the backquotes, placeholders included.
func (l *lexer) template() token {
	b := l.b
	start := l.pos
	l.pos++
	depth := 0
	for l.pos < len(b) {
		c := b[l.pos]
		switch {
		case c == '\\':
			l.pos += 2
			continue
		case depth == 0 && c == '`':
			l.pos++
			raw := b[start+1 : l.pos-1]
			return token{kind: tTemplate, start: start, end: l.pos, text: string(raw[:min(len(raw), 4*maxLiteral)]), ok: len(raw) <= 4*maxLiteral}
		case c == '$' && l.pos+1 < len(b) && b[l.pos+1] == '{':
			depth++
			l.pos += 2
			continue
		case depth > 0 && c == '}':
			depth--
		}
		l.pos++
	}
	return token{kind: tTemplate, start: start, end: l.pos}
}

// constant is what a name was assigned, or ambiguous.
type constant struct {
	text      string
	off       int
	ambiguous bool
}

// BuiltStrings calls yield with each string the text builds from two or more
// pieces, all of them constants; yield returns false to stop.
func BuiltStrings(b []byte, yield func(Built) bool) {
	names := constants(b)
	out := 0
	emit := func(bt Built) bool {
		out++
		return out <= maxOut && yield(bt)
	}
	l := &lexer{b: b}
	var chain []token // operands of a + chain so far
	var prev token
	flush := func() bool {
		defer func() { chain = chain[:0] }()
		if len(chain) < 2 {
			return true
		}
		if bt, ok := join(chain, names); ok {
			return emit(bt)
		}
		return true
	}
	for {
		t := l.next()
		if t.kind == tEOF {
			flush()
			return
		}
		if t.kind == tTemplate {
			if bt, ok := fill(t, names); ok && !emit(bt) {
				return
			}
		}
		operand := t.kind == tString || t.kind == tName || t.kind == tNumber || t.kind == tTemplate
		switch {
		case operand && (len(chain) == 0 || prev.kind == tPunct && prev.text == "+"):
			if len(chain) < maxParts {
				chain = append(chain, t)
			}
		case t.kind == tPunct && t.text == "+" && len(chain) > 0 && prev.kind != tPunct:
		default:
			if !flush() {
				return
			}
			if operand {
				chain = append(chain, t)
			}
		}
		prev = t
	}
}

// constants finds the names assigned a constant: NAME = "…", NAME = '…',
// NAME = 123 (var, let, const, a comma list or a plain assignment alike).
func constants(b []byte) map[string]constant {
	names := map[string]constant{}
	l := &lexer{b: b}
	var t1, t2, t3 token // the three tokens before the current one
	add := func(name string, t token) {
		c, seen := names[name]
		switch {
		case !seen && len(names) < maxNames:
			names[name] = constant{text: t.text, off: t.start + boolInt(t.kind == tString)}
		case seen && c.text != t.text:
			c.ambiguous = true
			names[name] = c
		}
	}
	for {
		t := l.next()
		if t.kind == tEOF {
			return names
		}
		// An object literal's property, {HOST: "…", PORT: 8443}: kept as
		// ".HOST", what config.HOST reads.
		if t1.kind == tPunct && t1.text == ":" && (t2.kind == tName || t2.kind == tString && t2.ok) && !strings.Contains(t2.text, ".") &&
			t3.kind == tPunct && (t3.text == "{" || t3.text == ",") && (t.kind == tString && t.ok || t.kind == tNumber) && len(t2.text) <= 64 {
			add("."+t2.text, t)
		}
		if t1.kind == tPunct && t1.text == "=" && t2.kind == tName && (t.kind == tString && t.ok || t.kind == tNumber) &&
			!strings.Contains(t2.text, ".") && len(t2.text) <= 64 {
			// "a == b" lexes as "=" "=": the byte before this "=" must not be another.
			if t1.start == 0 || b[t1.start-1] != '=' && b[t1.start-1] != '!' && b[t1.start-1] != '<' && b[t1.start-1] != '>' {
				add(t2.text, t)
			}
		}
		t3, t2, t1 = t2, t1, t
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// part resolves one operand.
func part(t token, names map[string]constant) (Part, bool) {
	switch t.kind {
	case tString:
		return Part{Text: t.text, Off: t.start + 1}, t.ok
	case tNumber:
		return Part{Text: t.text, Off: t.start}, true
	case tName:
		name := t.text
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i:] // config.HOST reads the property HOST of whichever object: one value in the text, or none
		}
		c, ok := names[name]
		if !ok || c.ambiguous {
			return Part{}, false
		}
		return Part{Text: c.text, Off: c.off}, true
	}
	return Part{}, false
}

// join builds a + chain: every operand known, one at least a literal
// string and one a name (a chain of literals alone is the minifier's
// concern, and is read whole by the rules anyway).
func join(chain []token, names map[string]constant) (Built, bool) {
	var sb strings.Builder
	var parts []Part
	lit, name := false, false
	for _, t := range chain {
		p, ok := part(t, names)
		if !ok || sb.Len()+len(p.Text) > maxValue {
			return Built{}, false
		}
		lit = lit || t.kind == tString
		name = name || t.kind == tName
		sb.WriteString(p.Text)
		parts = append(parts, p)
	}
	if !lit || !name {
		return Built{}, false
	}
	return Built{Value: sb.String(), Off: chain[0].start, Parts: parts}, true
}

// fill builds a template literal whose placeholders are all plain names
// with known constants.
func fill(t token, names map[string]constant) (Built, bool) {
	if !t.ok || !strings.Contains(t.text, "${") {
		return Built{}, false
	}
	var sb strings.Builder
	var parts []Part
	raw := t.text
	at := t.start + 1
	for len(raw) > 0 {
		i := strings.Index(raw, "${")
		if i < 0 {
			sb.WriteString(raw)
			parts = append(parts, Part{Text: raw, Off: at})
			break
		}
		if i > 0 {
			sb.WriteString(raw[:i])
			parts = append(parts, Part{Text: raw[:i], Off: at})
		}
		j := strings.IndexByte(raw[i:], '}')
		if j < 0 {
			return Built{}, false
		}
		c, ok := names[strings.TrimSpace(raw[i+2:i+j])]
		if !ok || c.ambiguous || strings.ContainsAny(raw[i+2:i+j], "`\\") {
			return Built{}, false
		}
		sb.WriteString(c.text)
		parts = append(parts, Part{Text: c.text, Off: c.off})
		at += i + j + 1
		raw = raw[i+j+1:]
		if sb.Len() > maxValue || len(parts) > maxParts {
			return Built{}, false
		}
	}
	return Built{Value: sb.String(), Off: t.start, Parts: parts}, len(parts) >= 2
}
