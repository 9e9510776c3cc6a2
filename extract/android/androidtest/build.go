// Package androidtest writes the Android binary formats (dex string tables,
// binary XML, resources.arsc) from plain values, so that tests can plant
// known strings in each place of an app and fuzz targets get valid seeds.
// It writes only what the readers in package android look at.
package androidtest

import (
	"bytes"
	"encoding/binary"
	"unicode/utf16"
)

var le = binary.LittleEndian

// Dex writes a dex file whose string table holds strs (ASCII or BMP text).
func Dex(strs []string) []byte {
	const hdr = 0x70
	b := make([]byte, hdr+4*len(strs))
	copy(b, "dex\n035\x00")
	le.PutUint32(b[56:], uint32(len(strs)))
	le.PutUint32(b[60:], hdr)
	for i, s := range strs {
		le.PutUint32(b[hdr+4*i:], uint32(len(b)))
		n := len(utf16.Encode([]rune(s)))
		for { // ULEB128
			c := byte(n & 0x7f)
			n >>= 7
			if n != 0 {
				c |= 0x80
			}
			b = append(b, c)
			if n == 0 {
				break
			}
		}
		b = append(b, s...)
		b = append(b, 0)
	}
	le.PutUint32(b[32:], uint32(len(b)))
	return b
}

// chunk writes a chunk header and body; header is the part after the
// 8-byte chunk header that belongs to the header.
func chunk(typ uint16, header, body []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(body))
	le.PutUint16(b, typ)
	le.PutUint16(b[2:], uint16(8+len(header)))
	le.PutUint32(b[4:], uint32(8+len(header)+len(body)))
	b = append(b, header...)
	return append(b, body...)
}

// StringPool writes a string pool chunk, UTF-8 or UTF-16.
func StringPool(strs []string, utf8 bool) []byte {
	var offs, data []byte
	for _, s := range strs {
		offs = le.AppendUint32(offs, uint32(len(data)))
		if utf8 {
			data = appendLen8(data, len(utf16.Encode([]rune(s))))
			data = appendLen8(data, len(s))
			data = append(append(data, s...), 0)
			continue
		}
		u := utf16.Encode([]rune(s))
		data = le.AppendUint16(data, uint16(len(u)))
		for _, c := range u {
			data = le.AppendUint16(data, c)
		}
		data = le.AppendUint16(data, 0)
	}
	for len(data)%4 != 0 {
		data = append(data, 0)
	}
	var flags uint32
	if utf8 {
		flags = 1 << 8
	}
	h := le.AppendUint32(nil, uint32(len(strs)))
	h = le.AppendUint32(h, 0)
	h = le.AppendUint32(h, flags)
	h = le.AppendUint32(h, uint32(28+len(offs)))
	h = le.AppendUint32(h, 0)
	return chunk(0x0001, h, append(offs, data...))
}

func appendLen8(b []byte, n int) []byte {
	if n > 0x7f {
		return append(b, byte(n>>8)|0x80, byte(n))
	}
	return append(b, byte(n))
}

// Attr is an attribute to write: a string value, or a typed one when Type
// is not 0x03.
type Attr struct {
	Name  string
	Str   string
	Type  uint8
	Data  uint32
	ResID uint32 // the framework attribute id, for the resource map
}

// Node is an element to write, with its children and text.
type Node struct {
	Name     string
	Attrs    []Attr
	Text     string
	Children []Node
}

// pool collects strings in first-use order.
type pool struct {
	strs []string
	idx  map[string]uint32
}

func (p *pool) id(s string) uint32 {
	if i, ok := p.idx[s]; ok {
		return i
	}
	p.idx[s] = uint32(len(p.strs))
	p.strs = append(p.strs, s)
	return p.idx[s]
}

// XML writes a binary XML document with root as its top element. Attribute
// names with a ResID come first in the pool, as aapt writes them, so the
// resource map lines up with them.
func XML(root Node) []byte {
	p := &pool{idx: map[string]uint32{}}
	var resMap []byte
	var mapNames func(n Node)
	mapNames = func(n Node) {
		for _, a := range n.Attrs {
			if _, seen := p.idx[a.Name]; a.ResID != 0 && !seen {
				p.id(a.Name)
				resMap = le.AppendUint32(resMap, a.ResID)
			}
		}
		for _, c := range n.Children {
			mapNames(c)
		}
	}
	mapNames(root)
	var body bytes.Buffer
	writeNode(&body, p, root)
	out := StringPool(p.strs, false)
	out = append(out, chunk(0x0180, nil, resMap)...)
	out = append(out, body.Bytes()...)
	return chunk(0x0003, nil, out)
}

func writeNode(w *bytes.Buffer, p *pool, n Node) {
	node := func() []byte { return le.AppendUint32(le.AppendUint32(nil, 1), 0xffffffff) } // line, comment
	ext := le.AppendUint32(nil, 0xffffffff)
	ext = le.AppendUint32(ext, p.id(n.Name))
	ext = le.AppendUint16(ext, 20)
	ext = le.AppendUint16(ext, 20)
	ext = le.AppendUint16(ext, uint16(len(n.Attrs)))
	ext = append(ext, 0, 0, 0, 0, 0, 0)
	for _, a := range n.Attrs {
		ext = le.AppendUint32(ext, 0xffffffff)
		ext = le.AppendUint32(ext, p.id(a.Name))
		typ, data, raw := a.Type, a.Data, uint32(0xffffffff)
		if typ == 0 || typ == 0x03 {
			typ, data = 0x03, p.id(a.Str)
			raw = data
		}
		ext = le.AppendUint32(ext, raw)
		ext = append(ext, 8, 0, 0, typ)
		ext = le.AppendUint32(ext, data)
	}
	w.Write(chunk(0x0102, node(), ext))
	if n.Text != "" {
		cd := le.AppendUint32(nil, p.id(n.Text))
		cd = append(cd, 8, 0, 0, 0, 0, 0, 0, 0)
		w.Write(chunk(0x0104, node(), cd))
	}
	for _, c := range n.Children {
		writeNode(w, p, c)
	}
	end := le.AppendUint32(nil, 0xffffffff)
	end = le.AppendUint32(end, p.id(n.Name))
	w.Write(chunk(0x0103, node(), end))
}

// Entry is one simple resource of a table: a string value, or a reference
// when Ref is set.
type Entry struct {
	Type string // "string", "xml"
	Name string
	Str  string
	Ref  uint32
}

// Table writes resources.arsc for package 0x7f with one default
// configuration. Resource ids are 0x7f<type><entry>, types numbered from 1
// in first-use order and entries from 0 within each type; IDs returns them.
func Table(entries []Entry) []byte {
	global := &pool{idx: map[string]uint32{}}
	types := &pool{idx: map[string]uint32{}}
	keys := &pool{idx: map[string]uint32{}}
	byType := map[uint32][]Entry{}
	for _, e := range entries {
		t := types.id(e.Type)
		byType[t] = append(byType[t], e)
		keys.id(e.Name)
		if e.Ref == 0 {
			global.id(e.Str)
		}
	}
	var kids []byte
	for t := range uint32(len(types.strs)) {
		kids = append(kids, typeChunk(uint8(t+1), byType[t], global, keys)...)
	}
	typePool, keyPool := StringPool(types.strs, true), StringPool(keys.strs, true)
	ph := le.AppendUint32(nil, 0x7f)
	ph = append(ph, make([]byte, 256)...)
	hdrLen := 8 + 4 + 256 + 4*5
	ph = le.AppendUint32(ph, uint32(hdrLen))
	ph = le.AppendUint32(ph, 0)
	ph = le.AppendUint32(ph, uint32(hdrLen+len(typePool)))
	ph = le.AppendUint32(ph, 0)
	ph = le.AppendUint32(ph, 0)
	pkg := chunk(0x0200, ph, append(append(typePool, keyPool...), kids...))
	body := append(StringPool(global.strs, true), pkg...)
	return chunk(0x0002, le.AppendUint32(nil, 1), body)
}

func typeChunk(id uint8, es []Entry, global, keys *pool) []byte {
	const configSize = 64
	h := []byte{id, 0, 0, 0}
	h = le.AppendUint32(h, uint32(len(es)))
	h = le.AppendUint32(h, uint32(8+12+configSize+4*len(es)))
	cfg := make([]byte, configSize)
	le.PutUint32(cfg, configSize)
	h = append(h, cfg...)
	var offs, data []byte
	for _, e := range es {
		offs = le.AppendUint32(offs, uint32(len(data)))
		data = le.AppendUint16(data, 8)
		data = le.AppendUint16(data, 0)
		data = le.AppendUint32(data, keys.id(e.Name))
		data = le.AppendUint16(data, 8)
		if e.Ref != 0 {
			data = append(data, 0, 0x01)
			data = le.AppendUint32(data, e.Ref)
		} else {
			data = append(data, 0, 0x03)
			data = le.AppendUint32(data, global.id(e.Str))
		}
	}
	return chunk(0x0201, h, append(offs, data...))
}
