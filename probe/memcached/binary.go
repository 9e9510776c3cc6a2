package memcached

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/gownscan/gown"
)

// The binary protocol (memcached's protocol_binary.h and the "Memcache
// Binary Protocol" draft) is spoken only when a server refuses text: SASL
// lives there. Each request is a 24-byte header and nothing else:
//
//	magic 0x80, opcode, key length 0,
//	extras length 0, data type 0, vbucket 0,
//	total body length 0,
//	opaque "gown" (echoed back, so a reply is tied to the request),
//	CAS 0.
const (
	binSASLList = "\x80\x20\x00\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00" + opaque + "\x00\x00\x00\x00\x00\x00\x00\x00"
	binVersion  = "\x80\x0b\x00\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00" + opaque + "\x00\x00\x00\x00\x00\x00\x00\x00"
	binStat     = "\x80\x10\x00\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00" + opaque + "\x00\x00\x00\x00\x00\x00\x00\x00"
	opaque      = "gown"
)

// Header fields and status codes gown reads.
const (
	magicResponse = 0x81
	opVersion     = 0x0b
	opStat        = 0x10
	opSASLList    = 0x20

	statusOK          = 0x0000
	statusAuthError   = 0x0020
	statusNoAccess    = 0x0024 // Couchbase: authenticated, but not for this
	statusUnknownCmd  = 0x0081
	statusUnsupported = 0x0083
	headerLen         = 24
)

// packet is one binary response.
type packet struct {
	opcode byte
	status uint16
	key    []byte
	value  []byte // the body after extras and key
}

// readPacket reads one response, refusing bodies over maxLine: nothing gown
// asks for (a mechanism list, one stat) comes near that.
func readPacket(r *bufio.Reader, want byte) (packet, error) {
	// The magic byte alone tells a binary reply from text ("ERROR\r\n") or
	// anything else; checking it first means a short non-binary reply is
	// placed at once instead of waiting for 24 bytes that never come.
	first, err := r.Peek(1)
	if err != nil {
		return packet{}, err
	}
	if first[0] != magicResponse {
		b, _ := r.Peek(r.Buffered())
		return packet{}, &errNotText{head: head(b)}
	}
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return packet{}, err
	}
	if h[1] != want || string(h[12:16]) != opaque {
		return packet{}, &errNotText{head: head(h[:])}
	}
	keyLen := int(binary.BigEndian.Uint16(h[2:4]))
	extLen := int(h[4])
	body := binary.BigEndian.Uint32(h[8:12])
	if body > maxLine {
		return packet{}, fmt.Errorf("binary body of %d bytes: %w", body, gown.ErrReplyTooLarge)
	}
	if extLen+keyLen > int(body) {
		return packet{}, fmt.Errorf("binary header: extras %d + key %d > body %d: %w", extLen, keyLen, body, gown.ErrProtocol)
	}
	buf := make([]byte, body)
	if _, err := io.ReadFull(r, buf); err != nil {
		return packet{}, err
	}
	return packet{
		opcode: h[1],
		status: binary.BigEndian.Uint16(h[6:8]),
		key:    buf[extLen : extLen+keyLen],
		value:  buf[extLen+keyLen:],
	}, nil
}

// readBinStats reads the answer to a binary stat request: one packet per
// stat, then one with an empty key. A non-zero status comes back as a single
// packet with no stats.
func readBinStats(r *bufio.Reader) (stats, uint16, error) {
	var out stats
	for {
		p, err := readPacket(r, opStat)
		if err != nil {
			return nil, 0, err
		}
		if p.status != statusOK {
			return nil, p.status, nil
		}
		if len(p.key) == 0 {
			return out, statusOK, nil
		}
		if !printable(p.key) || !printable(p.value) {
			return nil, 0, fmt.Errorf("binary stat %q: %w", head(p.key), gown.ErrProtocol)
		}
		if len(out) == maxStats {
			return nil, 0, fmt.Errorf("more than %d binary stats: %w", maxStats, gown.ErrReplyTooLarge)
		}
		out = append(out, stat{name: string(p.key), value: string(p.value)})
	}
}
