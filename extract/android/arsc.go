package android

import (
	"fmt"
)

// Table is a decoded resources.arsc: the global string pool, which holds
// every string value of every configuration, and the entries that point into
// it, so that a string can be named ("string/firebase_database_url") and a
// resource id followed to its value (the network security config's file).
type Table struct {
	Strings *StringPool
	// Names maps a global string index to the first resource that uses it.
	Names map[uint32]string
	// values maps a resource id to its value in the first configuration
	// that defines it.
	values map[uint32]Value
	// strs and offs hold a protobuf table's strings and their offsets in
	// its file, in place of the string pool.
	strs []string
	offs []int
}

// Len returns the number of strings in the table.
func (t *Table) Len() int {
	if t.Strings == nil {
		return len(t.strs)
	}
	return t.Strings.Len()
}

// Get returns string i and its offset in the file; "" when out of range.
// Like StringPool.Get, it is not safe for concurrent use.
func (t *Table) Get(i int) (string, int) {
	if t.Strings == nil {
		if i < 0 || i >= len(t.strs) {
			return "", 0
		}
		return t.strs[i], t.offs[i]
	}
	return t.Strings.Get(uint32(i))
}

// Value is one simple resource value.
type Value struct {
	Type uint8
	Data uint32
}

// maxEntries bounds the entries decoded from one table.
const maxEntries = 2_000_000

// ParseTable decodes resources.arsc. A table that breaks part-way still
// returns what was read before the break, with the error.
func ParseTable(b []byte) (*Table, error) {
	top, _ := chunks(b, 0) // bytes after the table chunk are of no interest
	if len(top) == 0 || top[0].typ != chunkTable {
		return nil, fmt.Errorf("resource table: not a table chunk: %w", ErrFormat)
	}
	t := &Table{Names: map[uint32]string{}, values: map[uint32]Value{}}
	body, cerr := chunks(top[0].data[top[0].header:], top[0].header)
	for _, c := range body {
		switch c.typ {
		case chunkStringPool:
			if t.Strings == nil {
				var err error
				if t.Strings, err = parseStringPool(c); err != nil {
					return t, fmt.Errorf("resource table: %w", err)
				}
			}
		case chunkPackage:
			if err := t.pkg(c); err != nil {
				return t, fmt.Errorf("resource table: %w", err)
			}
		}
	}
	if cerr != nil {
		return t, fmt.Errorf("resource table: %w", cerr)
	}
	return t, nil
}

// pkg reads one package: its type and key name pools, then each type chunk.
func (t *Table) pkg(c chunk) error {
	d := c.data
	id, ok1 := u32(d, 8)
	typeOff, ok2 := u32(d, 8+4+256)
	keyOff, ok3 := u32(d, 8+4+256+8)
	if !ok1 || !ok2 || !ok3 {
		return fmt.Errorf("package at %d: %w", c.off, ErrFormat)
	}
	types := t.subPool(c, int(typeOff))
	keys := t.subPool(c, int(keyOff))
	kids, err := chunks(d[c.header:], c.off+c.header)
	for _, k := range kids {
		if k.typ == chunkType {
			if terr := t.typeChunk(k, uint8(id), types, keys); terr != nil {
				return terr
			}
		}
	}
	return err
}

func (t *Table) subPool(c chunk, off int) *StringPool {
	if off <= 0 || off >= len(c.data) {
		return nil
	}
	cs, _ := chunks(c.data[off:], c.off+off)
	if len(cs) == 0 || cs[0].typ != chunkStringPool {
		return nil
	}
	p, _ := parseStringPool(cs[0])
	return p
}

// typeChunk reads the entries of one type in one configuration.
func (t *Table) typeChunk(c chunk, pkg uint8, types, keys *StringPool) error {
	d := c.data
	if len(d) < 20 {
		return fmt.Errorf("type chunk at %d: %w", c.off, ErrFormat)
	}
	typeID, flags := d[8], d[9]
	count, start := int(le.Uint32(d[12:])), int(le.Uint32(d[16:]))
	typeName, _ := types.Get(uint32(typeID) - 1)
	sparse, off16 := flags&0x01 != 0, flags&0x02 != 0
	width := 4 // u32 offsets, or u16 index + u16 offset/4 when sparse
	if off16 && !sparse {
		width = 2
	}
	if count < 0 || count > (len(d)-c.header)/width || start > len(d) {
		return fmt.Errorf("type chunk at %d: %d entries: %w", c.off, count, ErrFormat)
	}
	for i := range count {
		at := c.header + i*width
		idx, off := i, 0
		switch {
		case sparse:
			idx, off = int(le.Uint16(d[at:])), int(le.Uint16(d[at+2:]))*4
		case off16:
			v := le.Uint16(d[at:])
			if v == 0xffff {
				continue
			}
			off = int(v) * 4
		default:
			v := le.Uint32(d[at:])
			if v == 0xffffffff {
				continue
			}
			off = int(v)
		}
		if len(t.values) >= maxEntries {
			return fmt.Errorf("type chunk at %d: more than %d entries: %w", c.off, maxEntries, ErrFormat)
		}
		id := uint32(pkg)<<24 | uint32(typeID)<<16 | uint32(idx)
		t.entry(d, start+off, id, typeName, keys)
	}
	return nil
}

// entry reads one entry: a plain one (size, flags, key, Res_value), a
// compact one (key, flags with the type in the high byte, data), or a
// complex one (a map, whose values are skipped: bags hold styles, not
// back ends).
func (t *Table) entry(d []byte, at int, id uint32, typeName string, keys *StringPool) {
	size, ok1 := u16(d, at)
	flags, ok2 := u16(d, at+2)
	if !ok1 || !ok2 {
		return
	}
	var key uint32
	var v Value
	switch {
	case flags&0x08 != 0: // FLAG_COMPACT
		data, ok := u32(d, at+4)
		if !ok {
			return
		}
		key, v = uint32(size), Value{Type: uint8(flags >> 8), Data: data}
	case flags&0x01 != 0: // FLAG_COMPLEX
		return
	default:
		k, ok := u32(d, at+4)
		data, ok2 := u32(d, at+int(size)+4)
		if !ok || !ok2 || size < 8 {
			return
		}
		key, v = k, Value{Type: d[at+int(size)+3], Data: data}
	}
	if _, seen := t.values[id]; !seen {
		t.values[id] = v
	}
	if v.Type == TypeString {
		if _, named := t.Names[v.Data]; !named {
			k, _ := keys.Get(key)
			t.Names[v.Data] = typeName + "/" + k
		}
	}
}

// String resolves a resource id to a string value, following references a
// few steps (a cycle of references must not loop).
func (t *Table) String(id uint32) (string, bool) {
	for range 8 {
		v, ok := t.values[id]
		if !ok {
			return "", false
		}
		switch v.Type {
		case TypeString:
			s, _ := t.Get(int(v.Data))
			return s, true
		case TypeReference:
			id = v.Data
		default:
			return "", false
		}
	}
	return "", false
}

// Resource resolves a string resource id as String does, for a value of
// at most max bytes, and names it ("string/api_host"), with the file
// offset of its text. Unlike String it is safe for concurrent use (see
// StringPool.Peek).
func (t *Table) Resource(id uint32, max int) (str string, off int, name string, ok bool) {
	for range 8 {
		v, found := t.values[id]
		if !found {
			return "", 0, "", false
		}
		switch v.Type {
		case TypeString:
			if t.Strings == nil {
				i := int(v.Data)
				if i < 0 || i >= len(t.strs) || len(t.strs[i]) > max {
					return "", 0, "", false
				}
				return t.strs[i], t.offs[i], t.Names[v.Data], true
			}
			str, off, ok = t.Strings.Peek(v.Data, max)
			return str, off, t.Names[v.Data], ok
		case TypeReference:
			id = v.Data
		default:
			return "", 0, "", false
		}
	}
	return "", 0, "", false
}

// BuiltResources is the table as the dex data flow's Resources
// (DexBuiltWith): string values of a built string's length at most.
func (t *Table) BuiltResources() Resources {
	return func(id uint32) (string, bool) {
		s, _, _, ok := t.Resource(id, maxBuiltLen)
		return s, ok
	}
}
