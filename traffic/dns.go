package traffic

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// dnsAnswer is one address a DNS response gave a name.
type dnsAnswer struct {
	name string
	addr netip.Addr
}

// maxAnswers bounds the records read from one DNS message.
const maxAnswers = 64

// parseDNS reads the A and AAAA answers of a DNS response, each named by
// the question (the name the app asked for, not a CNAME's target).
func parseDNS(b []byte) []dnsAnswer {
	if len(b) < 12 || b[2]&0x80 == 0 { // not a response
		return nil
	}
	qd, an := int(binary.BigEndian.Uint16(b[4:])), int(binary.BigEndian.Uint16(b[6:]))
	off := 12
	var qname string
	for i := 0; i < qd && i < 4; i++ {
		name, n, ok := dnsName(b, off)
		if !ok || n+4 > len(b) {
			return nil
		}
		if i == 0 {
			qname = name
		}
		off = n + 4
	}
	if qd > 4 {
		return nil
	}
	var out []dnsAnswer
	for i := 0; i < an && i < maxAnswers; i++ {
		name, n, ok := dnsName(b, off)
		if !ok || n+10 > len(b) {
			return out
		}
		typ := binary.BigEndian.Uint16(b[n:])
		rdlen := int(binary.BigEndian.Uint16(b[n+8:]))
		rd := n + 10
		if rd+rdlen > len(b) {
			return out
		}
		if qname == "" {
			qname = name
		}
		switch {
		case typ == 1 && rdlen == 4:
			out = append(out, dnsAnswer{qname, netip.AddrFrom4([4]byte(b[rd : rd+4]))})
		case typ == 28 && rdlen == 16:
			out = append(out, dnsAnswer{qname, netip.AddrFrom16([16]byte(b[rd : rd+16])).Unmap()})
		}
		off = rd + rdlen
	}
	return out
}

// dnsName reads a possibly compressed name at off; it returns the offset
// after the name in place. Pointers are followed at most 16 times and the
// name is at most 255 bytes.
func dnsName(b []byte, off int) (string, int, bool) {
	var sb strings.Builder
	end := -1
	for jumps := 0; ; {
		if off >= len(b) {
			return "", 0, false
		}
		l := int(b[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			return strings.ToLower(sb.String()), end, true
		case l&0xc0 == 0xc0:
			if off+1 >= len(b) || jumps >= 16 {
				return "", 0, false
			}
			if end < 0 {
				end = off + 2
			}
			off = int(binary.BigEndian.Uint16(b[off:]) & 0x3fff)
			jumps++
		case l&0xc0 != 0:
			return "", 0, false
		default:
			if off+1+l > len(b) || sb.Len()+l+1 > 255 {
				return "", 0, false
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.Write(b[off+1 : off+1+l])
			off += 1 + l
		}
	}
}
