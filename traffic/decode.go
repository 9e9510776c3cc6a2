package traffic

import (
	"encoding/binary"
	"net/netip"
)

// segment is one TCP segment or UDP datagram decoded from a packet. Payload
// points into the packet's data.
type segment struct {
	src, dst netip.AddrPort
	udp      bool
	seq      uint32
	flags    uint8
	payload  []byte
}

// TCP flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagACK = 0x10
)

// decodeResult says why a packet gave no segment, for the counters.
type decodeResult int

const (
	decodedOK decodeResult = iota
	decodedOther
	decodedFragment
	decodedShort
	decodedLink
)

// decode reads the link, IP and TCP or UDP headers of one packet. It reads
// only within data and allocates nothing.
func decode(link LinkType, data []byte) (segment, decodeResult) {
	var ethType uint16
	switch link {
	case LinkEthernet:
		if len(data) < 14 {
			return segment{}, decodedShort
		}
		ethType, data = binary.BigEndian.Uint16(data[12:]), data[14:]
		for i := 0; i < 2 && (ethType == 0x8100 || ethType == 0x88a8); i++ {
			if len(data) < 4 {
				return segment{}, decodedShort
			}
			ethType, data = binary.BigEndian.Uint16(data[2:]), data[4:]
		}
	case LinkNull, LinkLoop:
		if len(data) < 4 {
			return segment{}, decodedShort
		}
		fam := binary.LittleEndian.Uint32(data)
		if fam > 0xffff {
			fam = binary.BigEndian.Uint32(data)
		}
		data = data[4:]
		switch fam {
		case 2:
			ethType = 0x0800
		case 24, 28, 30:
			ethType = 0x86dd
		default:
			return segment{}, decodedOther
		}
	case LinkSLL:
		if len(data) < 16 {
			return segment{}, decodedShort
		}
		ethType, data = binary.BigEndian.Uint16(data[14:]), data[16:]
	case LinkSLL2:
		if len(data) < 20 {
			return segment{}, decodedShort
		}
		ethType, data = binary.BigEndian.Uint16(data), data[20:]
	case LinkRaw, linkRawAlt, linkRawAlt2, LinkIPv4, LinkIPv6:
		if len(data) < 1 {
			return segment{}, decodedShort
		}
		switch data[0] >> 4 {
		case 4:
			ethType = 0x0800
		case 6:
			ethType = 0x86dd
		default:
			return segment{}, decodedOther
		}
	default:
		return segment{}, decodedLink
	}
	var src, dst netip.Addr
	var proto uint8
	switch ethType {
	case 0x0800:
		if len(data) < 20 || data[0]>>4 != 4 {
			return segment{}, decodedShort
		}
		ihl := int(data[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(data[2:]))
		if ihl < 20 || len(data) < ihl {
			return segment{}, decodedShort
		}
		if frag := binary.BigEndian.Uint16(data[6:]); frag&0x3fff != 0 {
			return segment{}, decodedFragment // more fragments, or not the first
		}
		if total >= ihl && total < len(data) {
			data = data[:total] // Ethernet padding
		}
		proto = data[9]
		src, dst = netip.AddrFrom4([4]byte(data[12:16])), netip.AddrFrom4([4]byte(data[16:20]))
		data = data[ihl:]
	case 0x86dd:
		if len(data) < 40 || data[0]>>4 != 6 {
			return segment{}, decodedShort
		}
		plen := int(binary.BigEndian.Uint16(data[4:]))
		proto = data[6]
		src, dst = netip.AddrFrom16([16]byte(data[8:24])), netip.AddrFrom16([16]byte(data[24:40]))
		data = data[40:]
		if plen < len(data) {
			data = data[:plen]
		}
		// Extension headers: hop-by-hop, routing, destination options.
		for i := 0; i < 8 && (proto == 0 || proto == 43 || proto == 60); i++ {
			if len(data) < 8 {
				return segment{}, decodedShort
			}
			n := (int(data[1]) + 1) * 8
			if n > len(data) {
				return segment{}, decodedShort
			}
			proto, data = data[0], data[n:]
		}
		if proto == 44 {
			return segment{}, decodedFragment
		}
	default:
		return segment{}, decodedOther
	}
	switch proto {
	case 6:
		if len(data) < 20 {
			return segment{}, decodedShort
		}
		off := int(data[12]>>4) * 4
		if off < 20 || off > len(data) {
			return segment{}, decodedShort
		}
		return segment{
			src:   netip.AddrPortFrom(src, binary.BigEndian.Uint16(data)),
			dst:   netip.AddrPortFrom(dst, binary.BigEndian.Uint16(data[2:])),
			seq:   binary.BigEndian.Uint32(data[4:]),
			flags: data[13], payload: data[off:],
		}, decodedOK
	case 17:
		if len(data) < 8 {
			return segment{}, decodedShort
		}
		n := int(binary.BigEndian.Uint16(data[4:]))
		p := data[8:]
		if n >= 8 && n-8 < len(p) {
			p = p[:n-8]
		}
		return segment{
			src: netip.AddrPortFrom(src, binary.BigEndian.Uint16(data)),
			dst: netip.AddrPortFrom(dst, binary.BigEndian.Uint16(data[2:])),
			udp: true, payload: p,
		}, decodedOK
	}
	return segment{}, decodedOther
}
