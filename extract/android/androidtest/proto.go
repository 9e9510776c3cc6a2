package androidtest

import "google.golang.org/protobuf/encoding/protowire"

// ProtoXML writes root as aapt2's protobuf XmlNode, the form an app bundle
// keeps its manifest in. Typed attributes get a compiled item: a reference
// (0x01), a boolean (0x12) or a decimal (0x10).
func ProtoXML(root Node) []byte {
	e := sub(3, []byte(root.Name))
	for _, a := range root.Attrs {
		e = append(e, sub(4, protoAttr(a))...)
	}
	if root.Text != "" { // a text child node: XmlNode is element or text, never both
		e = append(e, sub(5, sub(2, []byte(root.Text)))...)
	}
	for _, c := range root.Children {
		e = append(e, sub(5, ProtoXML(c))...)
	}
	return sub(1, e)
}

func protoAttr(a Attr) []byte {
	b := sub(2, []byte(a.Name))
	value := a.Str
	var item []byte
	switch a.Type {
	case 0x01:
		item = sub(1, varint(2, uint64(a.Data)))
	case 0x12:
		item, value = sub(7, varint(8, uint64(min(a.Data, 1)))), map[bool]string{true: "true", false: "false"}[a.Data != 0]
	case 0x10:
		item = sub(7, varint(6, uint64(a.Data)))
		value = itoa(a.Data)
	}
	b = append(b, sub(3, []byte(value))...)
	if a.ResID != 0 {
		b = append(b, varint(5, uint64(a.ResID))...)
	}
	if item != nil {
		b = append(b, sub(6, item)...)
	}
	return b
}

func sub(field protowire.Number, inner []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(nil, field, protowire.BytesType), inner)
}

func varint(field protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(nil, field, protowire.VarintType), v)
}

func itoa(v uint32) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

// ProtoEntry is one resource of a protobuf resource table: a string, a
// file path ("xml" type), a reference (Ref), or a string array (Array).
// Configs adds the same entry's value in further configurations (locales).
type ProtoEntry struct {
	Type    string // "string", "xml", "array", "plurals"
	Name    string
	Str     string
	Ref     uint32
	Array   []string
	Configs []string
}

// ProtoTable writes an app bundle's resources.pb for package 0x7f, in
// aapt2's proto3 form. Ids are numbered as Table numbers them: types from 1
// in first-use order, entries from 0 within each type.
func ProtoTable(entries []ProtoEntry) []byte {
	var order []string
	byType := map[string][]ProtoEntry{}
	for _, e := range entries {
		if _, ok := byType[e.Type]; !ok {
			order = append(order, e.Type)
		}
		byType[e.Type] = append(byType[e.Type], e)
	}
	pkg := append(sub(1, varint(1, 0x7f)), sub(2, []byte("com.example"))...)
	for ti, name := range order {
		typ := append(sub(1, varint(1, uint64(ti+1))), sub(2, []byte(name))...)
		for ei, e := range byType[name] {
			entry := append(sub(1, varint(1, uint64(ei))), sub(2, []byte(e.Name))...)
			for ci, v := range append([]string{e.Str}, e.Configs...) {
				cfg := sub(1, nil) // the default configuration
				if ci > 0 {
					cfg = sub(1, varint(1, uint64(ci))) // another one; readers here do not look inside
				}
				entry = append(entry, sub(6, append(cfg, sub(2, protoValue(e, v))...))...)
			}
			typ = append(typ, sub(3, entry)...)
		}
		pkg = append(pkg, sub(3, typ)...)
	}
	return sub(2, pkg)
}

// protoValue writes a Value: an Item (4) for a simple entry, a
// CompoundValue (5) holding an Array (4) or a Plural (5) otherwise.
func protoValue(e ProtoEntry, v string) []byte {
	switch {
	case e.Ref != 0:
		return sub(4, sub(1, varint(2, uint64(e.Ref))))
	case e.Type == "xml":
		return sub(4, sub(5, sub(1, []byte(v))))
	case e.Type == "array":
		var arr []byte
		for _, s := range e.Array {
			arr = append(arr, sub(1, sub(3, sub(2, sub(1, []byte(s)))))...)
		}
		return sub(5, sub(4, arr))
	case e.Type == "plurals":
		var pl []byte
		for _, s := range e.Array {
			pl = append(pl, sub(1, sub(4, sub(2, sub(1, []byte(s)))))...)
		}
		return sub(5, sub(5, pl))
	}
	return sub(4, sub(2, sub(1, []byte(v))))
}
