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
	for _, c := range root.Children {
		e = append(e, sub(5, ProtoXML(c))...)
	}
	node := sub(1, e)
	if root.Text != "" {
		node = append(node, sub(2, []byte(root.Text))...)
	}
	return node
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
