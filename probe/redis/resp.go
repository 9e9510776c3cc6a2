package redis

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/gownscan/gown"
)

// Caps on one reply. A probe reads what a stranger's server sends, so every
// length it announces is checked before anything is allocated for it. INFO,
// the largest reply gown asks for, is a few KiB; these leave room for servers
// with many databases and modules while keeping one reply under about 1 MiB.
const (
	maxBulk  = 256 << 10 // bytes in one bulk string
	maxLine  = 4 << 10   // bytes in one header or simple-string line
	maxElems = 1024      // elements in one aggregate
	maxDepth = 8         // aggregates nested inside each other
	maxNodes = 8192      // values in the whole reply, so nesting cannot multiply maxElems
	maxTotal = 1 << 20   // bulk bytes in the whole reply
)

// errNotRESP marks a reply whose first byte is no RESP type at all: the peer
// speaks something else (HTTP, TLS, SSH), which is a verdict, not a failure.
var errNotRESP = fmt.Errorf("first byte is no RESP type: %w", gown.ErrNotService)

// reply is one decoded RESP value. Only the fields its kind uses are set.
type reply struct {
	kind  byte    // the RESP type byte: + - : $ * and the RESP3 ones
	text  string  // simple string, error, bulk, verbatim, double, big number
	num   int64   // integer; 1 or 0 for a RESP3 boolean
	null  bool    // $-1, *-1 or RESP3 _
	elems []reply // array, set, push; a map as key, value, key, value...
}

// isError reports whether the reply is a RESP error (simple or RESP3 blob).
func (r reply) isError() bool { return r.kind == '-' || r.kind == '!' }

// readReply reads exactly one reply from br within the caps above. An unknown
// first byte yields errNotRESP; broken framing after a valid type byte yields
// gown.ErrProtocol; a length over a cap yields gown.ErrReplyTooLarge.
func readReply(br *bufio.Reader) (reply, error) {
	d := &decoder{br: br}
	return d.value(0)
}

// decoder carries the whole-reply budgets across the recursion.
type decoder struct {
	br    *bufio.Reader
	nodes int
	bulk  int
}

func (d *decoder) value(depth int) (reply, error) {
	kind, err := d.br.ReadByte()
	if err != nil {
		return reply{}, err
	}
	if d.nodes++; d.nodes > maxNodes {
		return reply{}, fmt.Errorf("more than %d values: %w", maxNodes, gown.ErrReplyTooLarge)
	}
	r := reply{kind: kind}
	switch kind {
	case '+', '-', ',', '(': // simple string, error, RESP3 double and big number
		r.text, err = d.line()
	case ':':
		r.num, err = d.integer()
	case '#':
		r.num, err = d.boolean()
	case '_':
		r.null = true
		err = d.empty()
	case '$', '!', '=': // bulk string, RESP3 blob error and verbatim string
		r.text, r.null, err = d.bulkString()
		if kind == '=' && len(r.text) >= 4 && r.text[3] == ':' {
			r.text = r.text[4:] // drop the verbatim format tag ("txt:")
		}
	case '*', '~', '>', '%', '|': // array, set, push, map, attribute
		r, err = d.aggregate(kind, depth)
	default:
		if depth == 0 {
			return reply{}, errNotRESP
		}
		return reply{}, fmt.Errorf("type byte %q inside an aggregate: %w", kind, gown.ErrProtocol)
	}
	if err != nil {
		return reply{}, err
	}
	return r, nil
}

// line reads up to CRLF and returns the text before it.
func (d *decoder) line() (string, error) {
	var buf []byte
	for {
		chunk, err := d.br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine {
			return "", fmt.Errorf("line over %d bytes: %w", maxLine, gown.ErrReplyTooLarge)
		}
		buf = append(buf, chunk...)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", unexpectedEOF(err)
		}
	}
	if len(buf) < 2 || buf[len(buf)-2] != '\r' {
		return "", fmt.Errorf("line not ended by CRLF: %w", gown.ErrProtocol)
	}
	return string(buf[:len(buf)-2]), nil
}

func (d *decoder) integer() (int64, error) {
	s, err := d.line()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("integer %.20q: %w", s, gown.ErrProtocol)
	}
	return n, nil
}

func (d *decoder) boolean() (int64, error) {
	s, err := d.line()
	switch {
	case err != nil:
		return 0, err
	case s == "t":
		return 1, nil
	case s == "f":
		return 0, nil
	}
	return 0, fmt.Errorf("boolean %.20q: %w", s, gown.ErrProtocol)
}

// empty reads the CRLF that ends a RESP3 null.
func (d *decoder) empty() error {
	s, err := d.line()
	if err == nil && s != "" {
		err = fmt.Errorf("null followed by %.20q: %w", s, gown.ErrProtocol)
	}
	return err
}

// length reads an announced length: -1 means null, anything else below zero
// or not a number is a framing error, and anything above max is too large.
func (d *decoder) length(max int) (n int, null bool, err error) {
	v, err := d.integer()
	switch {
	case err != nil:
		return 0, false, err
	case v == -1:
		return 0, true, nil
	case v < 0:
		return 0, false, fmt.Errorf("length %d: %w", v, gown.ErrProtocol)
	case v > int64(max):
		return 0, false, fmt.Errorf("length %d over the cap of %d: %w", v, max, gown.ErrReplyTooLarge)
	}
	return int(v), false, nil
}

func (d *decoder) bulkString() (string, bool, error) {
	n, null, err := d.length(maxBulk)
	if err != nil || null {
		return "", null, err
	}
	if d.bulk += n; d.bulk > maxTotal {
		return "", false, fmt.Errorf("bulk bytes over %d: %w", maxTotal, gown.ErrReplyTooLarge)
	}
	// Allocate only after the length passed the caps above.
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(d.br, buf); err != nil {
		return "", false, unexpectedEOF(err)
	}
	if buf[n] != '\r' || buf[n+1] != '\n' {
		return "", false, fmt.Errorf("bulk of %d bytes not ended by CRLF: %w", n, gown.ErrProtocol)
	}
	return string(buf[:n]), false, nil
}

// aggregate reads the elements of an array-like reply. A map holds two values
// per announced entry; an attribute (RESP3 |) is a map that annotates the
// reply after it, so it is read and dropped and that reply returned instead.
func (d *decoder) aggregate(kind byte, depth int) (reply, error) {
	if depth+1 > maxDepth {
		return reply{}, fmt.Errorf("nesting over %d: %w", maxDepth, gown.ErrReplyTooLarge)
	}
	limit, per := maxElems, 1
	if kind == '%' || kind == '|' {
		limit, per = maxElems/2, 2
	}
	n, null, err := d.length(limit)
	if err != nil {
		return reply{}, err
	}
	if null && kind != '*' {
		return reply{}, fmt.Errorf("null %q aggregate: %w", kind, gown.ErrProtocol)
	}
	r := reply{kind: kind, null: null}
	// No preallocation: the count is the server's claim, the elements are
	// what it actually sent.
	for range n * per {
		e, err := d.value(depth + 1)
		if err != nil {
			return reply{}, err
		}
		r.elems = append(r.elems, e)
	}
	if kind == '|' {
		return d.value(depth)
	}
	return r, nil
}

// unexpectedEOF turns an EOF in the middle of a reply into io.ErrUnexpectedEOF,
// since the first byte was already read.
func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
