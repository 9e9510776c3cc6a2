package mysql

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gownscan/gown"
)

// maxPacket caps one packet's payload. Greetings, auth packets, column
// definitions and inventory rows are all far below it; a peer that announces
// more is either hostile or not MySQL, so the payload is never allocated.
const maxPacket = 64 << 10

// maxPayloadLen is the 3-byte length that announces a payload continued in the
// next packet. Nothing gown reads is that large, so it is refused as too large
// rather than reassembled.
const maxPayloadLen = 0xFFFFFF

// Packet header bytes that start a server reply.
const (
	hdrOK       = 0x00
	hdrMoreData = 0x01 // AuthMoreData (caching_sha2_password)
	hdrEOF      = 0xFE // EOF, AuthSwitchRequest, or OK ending a resultset
	hdrERR      = 0xFF
)

// readPacket reads one packet: a 3-byte little-endian payload length, a
// sequence id, then the payload. A length above limit fails with
// gown.ErrReplyTooLarge before anything is allocated.
func readPacket(r io.Reader, limit int) (seq byte, payload []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if n == maxPayloadLen || n > limit {
		return hdr[3], nil, fmt.Errorf("packet of %d bytes (cap %d): %w", n, limit, gown.ErrReplyTooLarge)
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return hdr[3], nil, err
	}
	return hdr[3], payload, nil
}

// appendPacket frames payload as one packet with the given sequence id.
func appendPacket(dst []byte, seq byte, payload []byte) []byte {
	n := len(payload)
	dst = append(dst, byte(n), byte(n>>8), byte(n>>16), seq)
	return append(dst, payload...)
}

// serverError is an ERR packet: the code decides the verdict, the message goes
// into the reason.
type serverError struct {
	Code    uint16
	State   string // SQLSTATE, empty in errors sent before the handshake
	Message string
}

func (e *serverError) Error() string {
	if e.State != "" {
		return fmt.Sprintf("server error %d (%s): %s", e.Code, e.State, e.Message)
	}
	return fmt.Sprintf("server error %d: %s", e.Code, e.Message)
}

// parseErr decodes an ERR packet payload (starting with 0xFF). The SQLSTATE
// marker '#' is optional: servers leave it out before the handshake, when they
// do not yet know whether the client speaks protocol 4.1.
func parseErr(p []byte) (*serverError, error) {
	if len(p) < 3 || p[0] != hdrERR {
		return nil, fmt.Errorf("short ERR packet: %w", gown.ErrProtocol)
	}
	e := &serverError{Code: binary.LittleEndian.Uint16(p[1:3])}
	msg := p[3:]
	if len(msg) >= 6 && msg[0] == '#' {
		e.State, msg = string(msg[1:6]), msg[6:]
	}
	e.Message = cleanText(msg, 200)
	return e, nil
}

// cleanText makes server text safe to show: printable ASCII only, trimmed to
// max bytes.
func cleanText(b []byte, max int) string {
	var sb strings.Builder
	for _, c := range b {
		if sb.Len() >= max {
			break
		}
		if c >= 0x20 && c < 0x7F {
			sb.WriteByte(c)
		} else {
			sb.WriteByte('?')
		}
	}
	return sb.String()
}

// readLenEncInt decodes a length-encoded integer at the start of b and
// returns it with the bytes it took. null is set for 0xFB, the NULL marker of
// row values; 0xFF (an ERR header) is not a valid integer.
func readLenEncInt(b []byte) (v uint64, n int, null bool, err error) {
	if len(b) == 0 {
		return 0, 0, false, fmt.Errorf("missing length-encoded integer: %w", gown.ErrProtocol)
	}
	switch c := b[0]; {
	case c < 0xFB:
		return uint64(c), 1, false, nil
	case c == 0xFB:
		return 0, 1, true, nil
	case c == 0xFC:
		n = 3
	case c == 0xFD:
		n = 4
	case c == 0xFE:
		n = 9
	default:
		return 0, 0, false, fmt.Errorf("bad length-encoded integer 0x%02x: %w", c, gown.ErrProtocol)
	}
	if len(b) < n {
		return 0, 0, false, fmt.Errorf("truncated length-encoded integer: %w", gown.ErrProtocol)
	}
	var buf [8]byte
	copy(buf[:], b[1:n])
	return binary.LittleEndian.Uint64(buf[:]), n, false, nil
}

// readLenEncString decodes a length-encoded string (or NULL) at the start of
// b and returns it with the bytes it took.
func readLenEncString(b []byte) (s []byte, n int, null bool, err error) {
	l, n, null, err := readLenEncInt(b)
	if err != nil || null {
		return nil, n, null, err
	}
	if l > uint64(len(b)-n) {
		return nil, 0, false, fmt.Errorf("string of %d bytes overruns the packet: %w", l, gown.ErrProtocol)
	}
	end := n + int(l)
	return b[n:end], end, false, nil
}
