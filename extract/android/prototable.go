package android

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// An app bundle keeps its resource table as aapt2's protobuf ResourceTable
// (frameworks/base/tools/aapt2/Resources.proto, the proto3 form bundletool
// writes), not as resources.arsc. It is read field by field into the same
// Table the binary reader fills, so names, references and the network
// security config's path work alike in both. Field numbers:
//
//	ResourceTable { Package package = 2; }
//	Package       { PackageId package_id = 1; string package_name = 2; repeated Type type = 3; }
//	Type          { TypeId type_id = 1; string name = 2; repeated Entry entry = 3; }
//	Entry         { EntryId entry_id = 1; string name = 2; repeated ConfigValue config_value = 6; }
//	PackageId, TypeId, EntryId { uint32 id = 1; }
//	ConfigValue   { Configuration config = 1; Value value = 2; }
//	Value         { Item item = 4; CompoundValue compound_value = 5; }
//	Item          { Reference ref = 1; String str = 2; RawString raw_str = 3;
//	                StyledString styled_str = 4; FileReference file = 5; ... }
//	Reference     { uint32 id = 2; }
//	String, RawString, StyledString { string value = 1; }   FileReference { string path = 1; }
//	CompoundValue { Style style = 2; Array array = 4; Plural plural = 5; ... }
//	Style { repeated Entry entry = 3; }  Style.Entry { Item item = 4; }
//	Array { repeated Element element = 1; }  Array.Element { Item item = 3; }
//	Plural { repeated Entry entry = 1; }  Plural.Entry { Item item = 4; }
//
// Every string of every configuration goes into the table's string list
// once, as the global pool of resources.arsc holds them; compound values
// (string arrays, plurals, styles) give their strings too, named after
// their resource.

// ParseProtoTable decodes a protobuf resource table. A table that breaks
// part-way returns what was read before the break, with the error.
func ParseProtoTable(b []byte) (*Table, error) {
	p := &protoTable{file: b, t: &Table{Names: map[uint32]string{}, values: map[uint32]Value{}}, seen: map[string]uint32{}}
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == 2 && typ == protowire.BytesType {
			return p.pkg(v)
		}
		return nil
	})
	if err != nil {
		return p.t, fmt.Errorf("proto resource table: %w", err)
	}
	return p.t, nil
}

type protoTable struct {
	file []byte
	t    *Table
	seen map[string]uint32 // string → index in t.strs
}

// offset gives a field's position in the file: fields are subslices of the
// file that run to the end of its array, so their capacities differ by
// the offset. The result is checked, not trusted: -1 when it is wrong.
func (p *protoTable) offset(v []byte) int {
	off := cap(p.file) - cap(v)
	if len(v) == 0 || off < 0 || off+len(v) > len(p.file) || &p.file[off] != &v[0] {
		return -1
	}
	return off
}

// id reads a PackageId/TypeId/EntryId message.
func id(v []byte) (uint32, error) {
	var out uint32
	err := fields(v, func(num protowire.Number, typ protowire.Type, _ []byte, n uint64) error {
		if num == 1 && typ == protowire.VarintType {
			out = uint32(n)
		}
		return nil
	})
	return out, err
}

func (p *protoTable) pkg(b []byte) error {
	var pkgID uint32
	var types [][]byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		var err error
		switch {
		case num == 1 && typ == protowire.BytesType:
			pkgID, err = id(v)
		case num == 3 && typ == protowire.BytesType:
			types = append(types, v) // after the id, which may come later
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, ty := range types {
		if err := p.typ(pkgID, ty); err != nil {
			return err
		}
	}
	return nil
}

func (p *protoTable) typ(pkgID uint32, b []byte) error {
	var typeID uint32
	var name string
	var entries [][]byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		var err error
		switch {
		case typ != protowire.BytesType:
		case num == 1:
			typeID, err = id(v)
		case num == 2:
			name = string(v)
		case num == 3:
			entries = append(entries, v)
		}
		return err
	})
	if err != nil {
		return err
	}
	for _, e := range entries {
		if len(p.t.values) >= maxEntries {
			return fmt.Errorf("more than %d entries: %w", maxEntries, ErrFormat)
		}
		if err := p.entry(pkgID&0xff<<24|typeID&0xff<<16, name, e); err != nil {
			return err
		}
	}
	return nil
}

func (p *protoTable) entry(base uint32, typeName string, b []byte) error {
	var entryID uint32
	var name string
	var configs [][]byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		var err error
		switch {
		case typ != protowire.BytesType:
		case num == 1:
			entryID, err = id(v)
		case num == 2:
			name = string(v)
		case num == 6:
			configs = append(configs, v)
		}
		return err
	})
	if err != nil {
		return err
	}
	resID, label := base|entryID&0xffff, typeName+"/"+name
	for _, c := range configs {
		err := fields(c, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			if num == 2 && typ == protowire.BytesType {
				return p.value(resID, label, v)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// value reads one configuration's value: an item becomes the entry's value
// (when no earlier configuration set one); a compound value's items only
// add their strings.
func (p *protoTable) value(resID uint32, label string, b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case typ != protowire.BytesType:
		case num == 4:
			val, err := p.item(label, v)
			if _, seen := p.t.values[resID]; !seen && err == nil && val.Type != 0 {
				p.t.values[resID] = val
			}
			return err
		case num == 5:
			return p.compound(label, v)
		}
		return nil
	})
}

// compound reads the items of a style (3/4), an array (1/3) or a plural (1/4).
func (p *protoTable) compound(label string, b []byte) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		list, item := protowire.Number(0), protowire.Number(0)
		switch num {
		case 2:
			list, item = 3, 4
		case 4:
			list, item = 1, 3
		case 5:
			list, item = 1, 4
		}
		if list == 0 || typ != protowire.BytesType {
			return nil
		}
		return fields(v, func(n protowire.Number, t protowire.Type, el []byte, _ uint64) error {
			if n != list || t != protowire.BytesType {
				return nil
			}
			return fields(el, func(n protowire.Number, t protowire.Type, it []byte, _ uint64) error {
				if n == item && t == protowire.BytesType {
					_, err := p.item(label, it)
					return err
				}
				return nil
			})
		})
	})
}

// item reads a reference, a string of any kind or a file path.
func (p *protoTable) item(label string, b []byte) (Value, error) {
	var val Value
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // Reference
			return fields(v, func(n protowire.Number, t protowire.Type, _ []byte, x uint64) error {
				if n == 2 && t == protowire.VarintType {
					val = Value{Type: TypeReference, Data: uint32(x)}
				}
				return nil
			})
		case 2, 3, 4, 5: // String, RawString, StyledString: value = 1; FileReference: path = 1
			return fields(v, func(n protowire.Number, t protowire.Type, s []byte, _ uint64) error {
				if n == 1 && t == protowire.BytesType {
					val = Value{Type: TypeString, Data: p.str(label, s)}
				}
				return nil
			})
		}
		return nil
	})
	return val, err
}

// str adds a string to the table's list once and returns its index.
func (p *protoTable) str(label string, s []byte) uint32 {
	if i, ok := p.seen[string(s)]; ok {
		return i
	}
	i := uint32(len(p.t.strs))
	p.t.strs = append(p.t.strs, string(s))
	p.t.offs = append(p.t.offs, p.offset(s))
	p.seen[string(s)] = i
	p.t.Names[i] = label
	return i
}
