package android

import (
	"fmt"
	"strconv"
)

// Value types of Res_value that extraction tells apart.
const (
	TypeReference = 0x01
	TypeString    = 0x03
	TypeIntDec    = 0x10
	TypeIntHex    = 0x11
	TypeBool      = 0x12
)

// Attr is one attribute of a binary XML element.
type Attr struct {
	Name string
	// Value is the attribute as text: the string, or the typed value written
	// out ("true", "27", "@0x7f0f0001" for a reference).
	Value  string
	Type   uint8
	Data   uint32 // the typed value's raw data (resource id for a reference)
	Offset int    // offset of the value's string, or of the attribute, in the file
}

// Element is one element of a binary XML document. Parent indexes the
// document's Elements; -1 for the root.
type Element struct {
	Name   string
	Attrs  []Attr
	Text   string // character data directly inside the element
	Parent int
	Offset int
}

// Attr returns the named attribute's value and whether it is there.
func (e *Element) Attr(name string) (Attr, bool) {
	for _, a := range e.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return Attr{}, false
}

// XML is a decoded binary XML document.
type XML struct {
	Elements []Element
	Strings  *StringPool
}

// maxElements bounds a document: a manifest has hundreds, not millions.
const maxElements = 200000

// maxText bounds the character data kept per element.
const maxText = 4096

// androidAttrs names framework attributes by resource id, for documents
// whose attribute name strings were stripped by an obfuscator.
var androidAttrs = map[uint32]string{
	0x01010003: "name", 0x01010024: "value", 0x01010025: "resource",
	0x0101021b: "versionCode", 0x0101021c: "versionName",
	0x0101020c: "minSdkVersion", 0x01010270: "targetSdkVersion",
	0x010104ec: "usesCleartextTraffic", 0x01010527: "networkSecurityConfig",
	0x01010528: "cleartextTrafficPermitted", 0x01010529: "includeSubdomains",
}

// ParseXML decodes an Android binary XML document.
func ParseXML(b []byte) (*XML, error) {
	top, err := chunks(b, 0)
	if err != nil || len(top) == 0 || top[0].typ != chunkXML {
		return nil, fmt.Errorf("binary XML: not an XML chunk: %w", ErrFormat)
	}
	x := &XML{}
	body, cerr := chunks(top[0].data[top[0].header:], top[0].header)
	var resMap []uint32
	stack := []int{-1}
	for _, c := range body {
		switch c.typ {
		case chunkStringPool:
			if x.Strings == nil {
				var err error
				if x.Strings, err = parseStringPool(c); err != nil {
					return x, fmt.Errorf("binary XML: %w", err)
				}
			}
		case chunkXMLResMap:
			for i := c.header; i+4 <= len(c.data); i += 4 {
				resMap = append(resMap, le.Uint32(c.data[i:]))
			}
		case chunkXMLStartEl:
			if len(x.Elements) >= maxElements {
				return x, fmt.Errorf("binary XML: more than %d elements: %w", maxElements, ErrFormat)
			}
			el, ok := x.element(c, resMap)
			if !ok {
				return x, fmt.Errorf("binary XML: element at %d: %w", c.off, ErrFormat)
			}
			el.Parent = stack[len(stack)-1]
			x.Elements = append(x.Elements, el)
			stack = append(stack, len(x.Elements)-1)
		case chunkXMLEndEl:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case chunkXMLCData:
			if i := stack[len(stack)-1]; i >= 0 {
				if si, ok := u32(c.data, c.header); ok {
					s, _ := x.Strings.Get(si)
					if len(x.Elements[i].Text) < maxText { // many CDATA chunks must not grow one text without bound
						x.Elements[i].Text += s
					}
				}
			}
		}
	}
	if cerr != nil {
		return x, fmt.Errorf("binary XML: %w", cerr)
	}
	return x, nil
}

// element decodes a start-element chunk: the attribute extension follows the
// node header, and the attributes follow at attributeStart.
func (x *XML) element(c chunk, resMap []uint32) (Element, bool) {
	d, h := c.data, c.header
	name, ok1 := u32(d, h+4)
	attrStart, ok2 := u16(d, h+8)
	attrSize, ok3 := u16(d, h+10)
	count, ok4 := u16(d, h+12)
	if !ok1 || !ok2 || !ok3 || !ok4 || attrSize < 20 {
		return Element{}, false
	}
	el := Element{Offset: c.off}
	el.Name, _ = x.Strings.Get(name)
	for i := range int(count) {
		at := h + int(attrStart) + i*int(attrSize)
		if at+20 > len(d) {
			return el, false
		}
		a := Attr{Type: d[at+15], Data: le.Uint32(d[at+16:]), Offset: c.off + at}
		ni, raw := le.Uint32(d[at+4:]), le.Uint32(d[at+8:])
		a.Name, _ = x.Strings.Get(ni)
		if int64(ni) < int64(len(resMap)) {
			if n, ok := androidAttrs[resMap[ni]]; ok && a.Name == "" {
				a.Name = n
			}
		}
		a.Value = x.valueString(a, raw)
		el.Attrs = append(el.Attrs, a)
	}
	return el, true
}

// valueString writes a typed value as text.
func (x *XML) valueString(a Attr, raw uint32) string {
	switch a.Type {
	case TypeString:
		s, _ := x.Strings.Get(a.Data)
		return s
	case TypeReference:
		return "@0x" + strconv.FormatUint(uint64(a.Data), 16)
	case TypeBool:
		return strconv.FormatBool(a.Data != 0)
	case TypeIntDec:
		return strconv.FormatInt(int64(int32(a.Data)), 10)
	case TypeIntHex:
		return "0x" + strconv.FormatUint(uint64(a.Data), 16)
	}
	if raw != 0xffffffff {
		s, _ := x.Strings.Get(raw)
		return s
	}
	return ""
}
