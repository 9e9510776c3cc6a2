package traffic

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// Limits of the capture reader: a record or block over them is an error,
// never an allocation. tcpdump's own snapshot length is 262144.
const (
	// MaxPacket is the most bytes one packet record may hold.
	MaxPacket = 256 << 10
	// maxBlock is the most bytes of a pcapng block that is read into
	// memory (packet blocks and interface descriptions); other blocks
	// (name resolution, statistics, custom, decryption secrets) are
	// skipped whatever their length.
	maxBlock = MaxPacket + 4096
	// maxInterfaces bounds the interfaces one pcapng section may describe.
	maxInterfaces = 4096
)

// ErrTruncated means the capture ended inside a record: the packets before
// it were read and kept.
var ErrTruncated = errors.New("capture truncated")

// ErrNotCapture means the file is neither pcap, pcapng nor HAR.
var ErrNotCapture = errors.New("not a pcap, pcapng or HAR file")

// LinkType is a capture's link-layer header type (LINKTYPE_* of the
// tcpdump.org registry).
type LinkType uint16

// Link types the decoder reads.
const (
	LinkNull     LinkType = 0   // BSD loopback, host-endian family
	LinkEthernet LinkType = 1   // Ethernet II (Linux lo is recorded as this)
	LinkRaw      LinkType = 101 // bare IPv4 or IPv6
	LinkLoop     LinkType = 108 // OpenBSD loopback, big-endian family
	LinkSLL      LinkType = 113 // Linux cooked v1 (tcpdump -i any, older)
	LinkSLL2     LinkType = 276 // Linux cooked v2 (tcpdump -i any)
	LinkIPv4     LinkType = 228
	LinkIPv6     LinkType = 229
	linkRawAlt   LinkType = 12 // DLT_RAW as written on some systems
	linkRawAlt2  LinkType = 14
)

// Packet is one record of a capture. Data is valid until the next call to
// Next.
type Packet struct {
	N       int64 // 1 for the first packet
	Offset  int64 // byte offset of its record in the file
	Time    time.Time
	Link    LinkType
	OrigLen int // length on the wire; Data may be shorter (snapshot length)
	Data    []byte
}

// PacketReader reads packets from a pcap or pcapng stream, one at a time,
// holding at most one record in memory. Its errors name the packet and the
// byte offset; a capture cut short ends in an error wrapping ErrTruncated.
type PacketReader struct {
	r      *bufio.Reader
	off    int64
	n      int64
	ng     bool
	buf    []byte
	format string

	// pcap
	order   binary.ByteOrder
	nano    bool
	link    LinkType
	snaplen uint32

	// pcapng: the current section's byte order and interfaces
	ifaces []iface
}

type iface struct {
	link LinkType
	// ticks is the number of timestamp ticks in a second.
	ticks uint64
}

const (
	magicMicro   = 0xa1b2c3d4
	magicNano    = 0xa1b23c4d
	magicNG      = 0x0a0d0d0a
	ngByteOrder  = 0x1a2b3c4d
	blockSHB     = 0x0a0d0d0a
	blockIDB     = 1
	blockOPB     = 2 // obsolete packet block
	blockSPB     = 3
	blockEPB     = 6
	optEnd       = 0
	optIfTsresol = 9
)

// NewPacketReader reads a pcap or pcapng header from r and returns a
// reader for its packets.
func NewPacketReader(r io.Reader) (*PacketReader, error) {
	p := &PacketReader{r: bufio.NewReaderSize(r, 64<<10), buf: make([]byte, 0, 4096)}
	head, err := p.r.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("%w (%d bytes)", ErrNotCapture, len(head))
	}
	switch {
	case binary.BigEndian.Uint32(head) == magicNG:
		p.ng, p.format = true, "pcapng"
		return p, nil
	default:
		return p, p.pcapHeader()
	}
}

// Format is "pcap" or "pcapng".
func (p *PacketReader) Format() string { return p.format }

// Offset is the number of bytes read so far.
func (p *PacketReader) Offset() int64 { return p.off }

func (p *PacketReader) read(n int) ([]byte, error) {
	if cap(p.buf) < n {
		p.buf = make([]byte, n)
	}
	b := p.buf[:n]
	k, err := io.ReadFull(p.r, b)
	p.off += int64(k)
	return b, err
}

func (p *PacketReader) skip(n int64) error {
	k, err := p.r.Discard(int(min(n, math.MaxInt32)))
	p.off += int64(k)
	for err == nil && int64(k) < n {
		n -= int64(k)
		k, err = p.r.Discard(int(min(n, math.MaxInt32)))
		p.off += int64(k)
	}
	return err
}

func (p *PacketReader) pcapHeader() error {
	h, err := p.read(24)
	if err != nil {
		return fmt.Errorf("%w (%d bytes)", ErrNotCapture, p.off)
	}
	switch {
	case binary.LittleEndian.Uint32(h) == magicMicro:
		p.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h) == magicMicro:
		p.order = binary.BigEndian
	case binary.LittleEndian.Uint32(h) == magicNano:
		p.order, p.nano = binary.LittleEndian, true
	case binary.BigEndian.Uint32(h) == magicNano:
		p.order, p.nano = binary.BigEndian, true
	default:
		return ErrNotCapture
	}
	p.format = "pcap"
	if major := p.order.Uint16(h[4:]); major != 2 {
		return fmt.Errorf("pcap version %d: want 2", major)
	}
	p.snaplen = p.order.Uint32(h[16:])
	// The upper 16 bits hold the FCS length flags (pcap's LINKTYPE field is
	// 16 bits wide).
	p.link = LinkType(p.order.Uint32(h[20:]) & 0xffff)
	return nil
}

// Next returns the next packet, io.EOF at the end of the capture, or an
// error naming where the capture went wrong.
func (p *PacketReader) Next() (Packet, error) {
	if p.ng {
		return p.nextNG()
	}
	start := p.off
	h, err := p.read(16)
	if err == io.EOF {
		return Packet{}, io.EOF
	}
	if err != nil {
		return Packet{}, p.truncated(start)
	}
	sec, frac := p.order.Uint32(h), p.order.Uint32(h[4:])
	incl, orig := p.order.Uint32(h[8:]), p.order.Uint32(h[12:])
	if incl > MaxPacket {
		return Packet{}, fmt.Errorf("packet %d at offset %d: capture length %d over the %d-byte limit", p.n+1, start, incl, MaxPacket)
	}
	ns := int64(frac) * 1000
	if p.nano {
		ns = int64(frac)
	}
	data, err := p.read(int(incl))
	if err != nil {
		return Packet{}, p.truncated(start)
	}
	p.n++
	return Packet{N: p.n, Offset: start, Time: time.Unix(int64(sec), ns).UTC(), Link: p.link, OrigLen: int(orig), Data: data}, nil
}

func (p *PacketReader) truncated(start int64) error {
	return fmt.Errorf("packet %d at offset %d: %w: the file ends inside the record (%d bytes read)", p.n+1, start, ErrTruncated, p.off)
}

// nextNG reads pcapng blocks until a packet block.
func (p *PacketReader) nextNG() (Packet, error) {
	for {
		start := p.off
		h, err := p.read(8)
		if err == io.EOF {
			return Packet{}, io.EOF
		}
		if err != nil {
			return Packet{}, p.truncated(start)
		}
		typ := binary.BigEndian.Uint32(h)
		if typ == blockSHB {
			if err := p.section(start, h); err != nil {
				return Packet{}, err
			}
			continue
		}
		if p.order == nil {
			return Packet{}, fmt.Errorf("pcapng block at offset %d: no section header before it", start)
		}
		typ = p.order.Uint32(h)
		total := p.order.Uint32(h[4:])
		if total < 12 || total%4 != 0 {
			return Packet{}, fmt.Errorf("pcapng block type %d at offset %d: bad length %d", typ, start, total)
		}
		body := int64(total) - 8
		switch typ {
		case blockIDB, blockEPB, blockSPB, blockOPB:
		default:
			if err := p.skip(body); err != nil {
				return Packet{}, p.truncated(start)
			}
			continue
		}
		if total > maxBlock {
			return Packet{}, fmt.Errorf("pcapng block type %d at offset %d: length %d over the %d-byte limit", typ, start, total, maxBlock)
		}
		b, err := p.read(int(body))
		if err != nil {
			return Packet{}, p.truncated(start)
		}
		b = b[:len(b)-4] // the trailing copy of the length
		if typ == blockIDB {
			if err := p.addIface(start, b); err != nil {
				return Packet{}, err
			}
			continue
		}
		pkt, err := p.packetBlock(start, typ, b)
		if err != nil {
			return Packet{}, err
		}
		p.n++
		pkt.N = p.n
		return pkt, nil
	}
}

// section reads a section header block: a new byte order and no
// interfaces yet.
func (p *PacketReader) section(start int64, h []byte) error {
	bo, err := p.read(4)
	if err != nil {
		return p.truncated(start)
	}
	switch {
	case binary.LittleEndian.Uint32(bo) == ngByteOrder:
		p.order = binary.LittleEndian
	case binary.BigEndian.Uint32(bo) == ngByteOrder:
		p.order = binary.BigEndian
	default:
		return fmt.Errorf("pcapng section at offset %d: bad byte-order magic", start)
	}
	total := p.order.Uint32(h[4:])
	if total < 28 || total%4 != 0 {
		return fmt.Errorf("pcapng section at offset %d: bad length %d", start, total)
	}
	p.ifaces = p.ifaces[:0]
	if err := p.skip(int64(total) - 12); err != nil {
		return p.truncated(start)
	}
	return nil
}

func (p *PacketReader) addIface(start int64, b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("pcapng interface block at offset %d: %d bytes, want 8 or more", start, len(b))
	}
	if len(p.ifaces) >= maxInterfaces {
		return fmt.Errorf("pcapng interface block at offset %d: more than %d interfaces", start, maxInterfaces)
	}
	ifc := iface{link: LinkType(p.order.Uint16(b)), ticks: 1e6}
	opts := b[8:]
	for len(opts) >= 4 {
		code, n := p.order.Uint16(opts), int(p.order.Uint16(opts[2:]))
		opts = opts[4:]
		if code == optEnd || n > len(opts) {
			break
		}
		if code == optIfTsresol && n >= 1 {
			if r := opts[0]; r&0x80 == 0 {
				ifc.ticks = uint64(math.Pow10(int(min(r, 19))))
			} else {
				ifc.ticks = 1 << min(r&0x7f, 63)
			}
		}
		opts = opts[(n+3)&^3:]
	}
	p.ifaces = append(p.ifaces, ifc)
	return nil
}

func (p *PacketReader) packetBlock(start int64, typ uint32, b []byte) (Packet, error) {
	bad := func(what string) error {
		return fmt.Errorf("packet %d (pcapng block type %d) at offset %d: %s", p.n+1, typ, start, what)
	}
	var id, incl, orig uint32
	var ts uint64
	var data []byte
	switch typ {
	case blockEPB, blockOPB:
		if len(b) < 20 {
			return Packet{}, bad("block too short")
		}
		if typ == blockEPB {
			id = p.order.Uint32(b)
		} else {
			id = uint32(p.order.Uint16(b))
		}
		ts = uint64(p.order.Uint32(b[4:]))<<32 | uint64(p.order.Uint32(b[8:]))
		incl, orig = p.order.Uint32(b[12:]), p.order.Uint32(b[16:])
		if int64(incl) > int64(len(b)-20) {
			return Packet{}, bad(fmt.Sprintf("capture length %d beyond the block", incl))
		}
		data = b[20 : 20+incl]
	case blockSPB:
		if len(b) < 4 {
			return Packet{}, bad("block too short")
		}
		orig = p.order.Uint32(b)
		incl = uint32(min(int64(orig), int64(len(b)-4)))
		data = b[4 : 4+incl]
	}
	if int(id) >= len(p.ifaces) {
		return Packet{}, bad(fmt.Sprintf("interface %d not described", id))
	}
	ifc := p.ifaces[id]
	var t time.Time
	if typ != blockSPB {
		if sec := ts / ifc.ticks; sec < 1<<40 {
			t = time.Unix(int64(sec), int64(float64(ts%ifc.ticks)/float64(ifc.ticks)*1e9)).UTC()
		}
	}
	return Packet{Offset: start, Time: t, Link: ifc.link, OrigLen: int(orig), Data: data}, nil
}
