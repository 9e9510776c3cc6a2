package ios

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// howett.net/plist decodes every form recursively and with no limit: a
// binary or XML plist nested a million deep overflows the goroutine stack
// (a fatal error, not a panic, so no recover helps), a binary plist whose
// arrays refer to one another decodes each shared reference anew (40
// objects in 600 bytes make 2^40 values), and the OpenStep text parser
// appends escapes to a string one by one (quadratic time). Nothing bounds
// them from outside, so each input is checked here, iteratively, before
// the library sees it: the library is then only handed documents whose
// decoded tree is known to be small and shallow.

// Caps on one property list. Real Info.plist files nest five deep and hold
// hundreds of values; settings bundles and data plists, tens of thousands.
const (
	// MaxPlistDepth caps the containers (dictionaries, arrays) on any one
	// path from the root, the root included.
	MaxPlistDepth = 64
	// MaxPlistObjects caps the values of the decoded tree, dictionary keys
	// counted, with each shared reference of a binary plist counted every
	// time it is used: that is what decoding builds (some 120 bytes a
	// value in the costliest shape measured, one-key dictionaries: 30 MiB
	// at the cap).
	MaxPlistObjects = 1 << 18
)

// Errors of the bounded reader.
var (
	// ErrPlistCap means a property list is nested too deep or decodes to
	// too many values; it is not decoded.
	ErrPlistCap = errors.New("plist over a safety cap")
	// ErrTextPlist means the data is not a binary or XML property list.
	// The OpenStep and GNUstep text forms are not decoded (the library's
	// text parser has no bounds, and apps ship their plists as XML or
	// binary): the caller may scan such a file as plain text.
	ErrTextPlist = errors.New("not a binary or XML plist (OpenStep text form is not decoded)")
)

// checkPlist checks b against the caps the way the library will read it:
// a "bplist" header means the binary form and nothing else; otherwise the
// library tries XML and falls back to the text form when the XML holds no
// element it knows.
func checkPlist(b []byte) error {
	if bytes.HasPrefix(b, []byte("bplist")) {
		return checkBinary(b)
	}
	return checkXML(b)
}

// xmlValue lists the element names the library's XML parser decodes; a
// document that starts with any other element, or with none, goes to its
// text parser.
var xmlValue = map[string]bool{"plist": true, "string": true, "integer": true, "real": true, "true": true,
	"false": true, "date": true, "data": true, "dict": true, "array": true}

// checkXML tokenises b with encoding/xml, as the library does (same
// decoder, same settings, so the same tokens), up to where the library
// stops reading: the end of the root element, or of the first value inside
// <plist>. Every element counts toward the caps, <key> and any element
// inside a <string> among them: the check may refuse a little early, never
// late.
func checkXML(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	depth, count := 0, 0
	maxDepth := MaxPlistDepth + 1 // containers, and a leaf inside the deepest
	stopAt := 0                   // the depth whose end ends the library's read
	for {
		tok, err := d.Token()
		if err != nil {
			if count == 0 {
				return ErrTextPlist // no element: the library's text parser would take it
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if count == 0 {
				if !xmlValue[t.Name.Local] {
					return ErrTextPlist
				}
				if t.Name.Local == "plist" {
					maxDepth, stopAt = maxDepth+1, 1 // <plist> wraps the root value
				}
			}
			depth++
			count++
			if depth > maxDepth {
				return fmt.Errorf("xml: elements nested over %d deep: %w", maxDepth, ErrPlistCap)
			}
			if count > MaxPlistObjects+1 { // <plist> itself is not a value
				return fmt.Errorf("xml: over %d values: %w", MaxPlistObjects, ErrPlistCap)
			}
		case xml.EndElement:
			depth--
			if depth <= stopAt {
				return nil // where the library stops reading
			}
		}
	}
}

// checkBinary reads a binary plist's trailer and offset table and walks
// the object graph from the top object, iteratively, with an explicit
// stack, computing for each container once (a memo over the object index)
// its nesting depth and the size of the tree it decodes to. Work is linear
// in the references read; memory is a few bytes per object of the table,
// whose length is itself capped. It reads exactly the fields the library
// reads (bplist_parser.go in howett.net/plist), so what it checks is what
// the library will recurse over. Anything malformed that the library would
// also refuse is refused here, with bounds checked at every read.
func checkBinary(b []byte) error {
	if len(b) < 8+32+1 {
		return errors.New("bplist: too short")
	}
	tr := b[len(b)-32:]
	offSize, refSize := int(tr[6]), int(tr[7])
	numObjects := binary.BigEndian.Uint64(tr[8:])
	top := binary.BigEndian.Uint64(tr[16:])
	tableOff := binary.BigEndian.Uint64(tr[24:])
	end := uint64(len(b) - 32) // the trailer's start: the table lies before it
	switch {
	case offSize < 1 || offSize > 8 || refSize < 1 || refSize > 8:
		return fmt.Errorf("bplist: offset size %d, reference size %d (1 to 8 allowed)", offSize, refSize)
	case numObjects > MaxPlistObjects:
		// The library allocates a slot per object before reading any.
		return fmt.Errorf("bplist: %d objects: %w (max %d)", numObjects, ErrPlistCap, MaxPlistObjects)
	case numObjects == 0 || top >= numObjects:
		return fmt.Errorf("bplist: top object %d of %d", top, numObjects)
	case tableOff < 9 || tableOff > end || numObjects*uint64(offSize) > end-tableOff:
		return fmt.Errorf("bplist: offset table at %d (%d objects) outside the file", tableOff, numObjects)
	}
	w := bwalk{b: b, offSize: offSize, refSize: refSize, tableOff: tableOff, n: numObjects,
		state: make([]uint8, numObjects), depth: make([]uint8, numObjects), size: make([]uint32, numObjects)}
	return w.run(top)
}

// bwalk is the state of checkBinary's walk.
type bwalk struct {
	b                []byte
	offSize, refSize int
	tableOff, n      uint64
	state            []uint8  // per object: unseen, open (on the stack), done
	depth            []uint8  // per done object: containers on its deepest path
	size             []uint32 // per done object: values it decodes to, capped
	stack            []bframe
}

const (
	unseen uint8 = iota
	open
	done
)

// bframe is a container being walked: its references, the next to read,
// and what its children add up to so far.
type bframe struct {
	obj        uint64
	refs       uint64 // offset of its first reference
	nrefs      uint64
	next       uint64
	childDepth uint8
	size       uint64
}

// run walks from the top object.
func (w *bwalk) run(top uint64) error {
	if err := w.enter(top); err != nil {
		return err
	}
	for len(w.stack) > 0 {
		f := &w.stack[len(w.stack)-1]
		if f.next == f.nrefs {
			w.stack = w.stack[:len(w.stack)-1]
			w.state[f.obj], w.depth[f.obj], w.size[f.obj] = done, f.childDepth+1, uint32(f.size)
			if len(w.stack) > 0 {
				if err := w.add(f.obj); err != nil {
					return err
				}
			}
			continue
		}
		child := w.uint(f.refs+f.next*uint64(w.refSize), w.refSize)
		f.next++
		if child >= w.n {
			return fmt.Errorf("bplist: reference to object %d of %d", child, w.n)
		}
		switch w.state[child] {
		case open:
			return fmt.Errorf("bplist: object %d contains itself", child)
		case unseen:
			if err := w.enter(child); err != nil {
				return err
			}
			if w.state[child] == open {
				continue // a container: walked now, counted when done
			}
		}
		if err := w.add(child); err != nil {
			return err
		}
	}
	return nil
}

// add counts a done child into the container on top of the stack. A
// child already walked from elsewhere may sit deeper here than where it was
// walked, so its depth is checked against this path; and a cap passed
// fails at once, so a crafted file stops as soon as it shows itself.
func (w *bwalk) add(child uint64) error {
	f := &w.stack[len(w.stack)-1]
	if len(w.stack)+int(w.depth[child]) > MaxPlistDepth {
		return fmt.Errorf("bplist: containers nested over %d deep: %w", MaxPlistDepth, ErrPlistCap)
	}
	f.childDepth = max(f.childDepth, w.depth[child])
	if f.size += uint64(w.size[child]); f.size > MaxPlistObjects {
		return fmt.Errorf("bplist: decodes to over %d values (shared references count each time): %w", MaxPlistObjects, ErrPlistCap)
	}
	return nil
}

// enter reads object i: a scalar is done at once (size 1, depth 0); a
// container is pushed, after its count and references are checked to lie
// before the offset table.
func (w *bwalk) enter(i uint64) error {
	at := w.tableOff + i*uint64(w.offSize)
	off := w.uint(at, w.offSize)
	if off >= w.tableOff {
		return fmt.Errorf("bplist: object %d at %d, past the object table", i, off)
	}
	tag := w.b[off]
	if tag&0xf0 != 0xa0 && tag&0xf0 != 0xd0 { // not an array or a dictionary
		w.state[i], w.depth[i], w.size[i] = done, 0, 1
		return nil
	}
	if len(w.stack) >= MaxPlistDepth {
		return fmt.Errorf("bplist: containers nested over %d deep: %w", MaxPlistDepth, ErrPlistCap)
	}
	count, refs := uint64(tag&0x0f), off+1
	if count == 0x0f { // the count follows as an integer object: a tag, then 2^(tag&0xf) bytes
		if off+2 > w.tableOff {
			return fmt.Errorf("bplist: object %d: count past the object table", i)
		}
		n := 1 << (w.b[off+1] & 0x0f)
		if n > 16 || off+2+uint64(n) > w.tableOff {
			return fmt.Errorf("bplist: object %d: bad count", i)
		}
		// A 16-byte count is read by its low 8 bytes, as the library does.
		count, refs = w.uint(off+2+uint64(max(n-8, 0)), min(n, 8)), off+2+uint64(n)
	}
	if tag&0xf0 == 0xd0 { // keys, then values
		if count > w.tableOff {
			return fmt.Errorf("bplist: object %d: %d entries past the object table", i, count)
		}
		count *= 2
	}
	if count > (w.tableOff-refs)/uint64(w.refSize) {
		return fmt.Errorf("bplist: object %d: %d references past the object table", i, count)
	}
	w.state[i] = open
	w.stack = append(w.stack, bframe{obj: i, refs: refs, nrefs: count, size: 1})
	return nil
}

// uint reads an n-byte big-endian unsigned integer at off; callers have
// checked that it lies in the file.
func (w *bwalk) uint(off uint64, n int) uint64 {
	var v uint64
	for _, c := range w.b[off : off+uint64(n)] {
		v = v<<8 | uint64(c)
	}
	return v
}
