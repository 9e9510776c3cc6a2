package android

import (
	"fmt"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// An app bundle (AAB) keeps its manifest as aapt2's protobuf XmlNode
// (frameworks/base/tools/aapt2/Resources.proto), not binary XML. It is read
// here with protowire, field by field, into the same XML type the binary
// reader fills, so one manifest reader serves both. Field numbers:
//
//	XmlNode      { XmlElement element = 1; string text = 2; }
//	XmlElement   { string name = 3; repeated XmlAttribute attribute = 4; repeated XmlNode child = 5; }
//	XmlAttribute { string name = 2; string value = 3; uint32 resource_id = 5; Item compiled_item = 6; }
//	Item         { Reference ref = 1; Primitive prim = 7; }
//	Reference    { uint32 id = 2; }
//	Primitive    { int32 int_decimal_value = 6; int32 int_hexadecimal_value = 7; bool boolean_value = 8; }

// maxProtoDepth bounds element nesting: a manifest is a few levels deep.
const maxProtoDepth = 64

// ParseProtoXML decodes a protobuf XmlNode document.
func ParseProtoXML(b []byte) (*XML, error) {
	x := &XML{}
	if err := x.protoNode(b, -1, 0); err != nil {
		return x, fmt.Errorf("proto XML: %w", err)
	}
	return x, nil
}

// fields calls fn for each field of a message; bytes fields get their
// payload, varints their value.
func fields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error) error {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return ErrFormat
		}
		b = b[l:]
		var v []byte
		var n uint64
		switch typ {
		case protowire.BytesType:
			v, l = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			n, l = protowire.ConsumeVarint(b)
		default:
			l = protowire.ConsumeFieldValue(num, typ, b)
		}
		if l < 0 {
			return ErrFormat
		}
		b = b[l:]
		if err := fn(num, typ, v, n); err != nil {
			return err
		}
	}
	return nil
}

func (x *XML) protoNode(b []byte, parent, depth int) error {
	if depth > maxProtoDepth || len(x.Elements) >= maxElements {
		return fmt.Errorf("nested too deep or too many elements: %w", ErrFormat)
	}
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == 1 && typ == protowire.BytesType:
			return x.protoElement(v, parent, depth)
		case num == 2 && typ == protowire.BytesType && parent >= 0 && len(x.Elements[parent].Text) < maxText:
			x.Elements[parent].Text += string(v)
		}
		return nil
	})
}

func (x *XML) protoElement(b []byte, parent, depth int) error {
	i := len(x.Elements)
	x.Elements = append(x.Elements, Element{Parent: parent})
	var kids [][]byte
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 3:
			x.Elements[i].Name = string(v)
		case 4:
			a, err := protoAttr(v)
			if err != nil {
				return err
			}
			x.Elements[i].Attrs = append(x.Elements[i].Attrs, a)
		case 5:
			kids = append(kids, v) // children after this element's attributes
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err := x.protoNode(k, i, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func protoAttr(b []byte) (Attr, error) {
	a := Attr{Type: TypeString}
	var resID uint32
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, n uint64) error {
		switch {
		case num == 2 && typ == protowire.BytesType:
			a.Name = string(v)
		case num == 3 && typ == protowire.BytesType:
			a.Value = string(v)
		case num == 5 && typ == protowire.VarintType:
			resID = uint32(n)
		case num == 6 && typ == protowire.BytesType:
			return protoItem(v, &a)
		}
		return nil
	})
	if a.Name == "" {
		a.Name = androidAttrs[resID]
	}
	return a, err
}

// protoItem reads the compiled value: a reference or a primitive.
func protoItem(b []byte, a *Attr) error {
	return fields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType || (num != 1 && num != 7) {
			return nil
		}
		return fields(v, func(f protowire.Number, t protowire.Type, _ []byte, n uint64) error {
			if t != protowire.VarintType {
				return nil
			}
			switch {
			case num == 1 && f == 2:
				a.Type, a.Data = TypeReference, uint32(n)
				a.Value = "@0x" + strconv.FormatUint(n&0xffffffff, 16)
			case num == 7 && f == 8:
				a.Type, a.Data = TypeBool, uint32(min(n, 1))
				a.Value = strconv.FormatBool(n != 0)
			case num == 7 && (f == 6 || f == 7):
				a.Type, a.Data = TypeIntDec, uint32(n)
			}
			return nil
		})
	})
}
