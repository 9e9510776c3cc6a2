package mqtt

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/gownscan/gown"
)

// MQTT 3.1.1 control packet types (the high nibble of the first byte).
const (
	typeConnect   = 1
	typeConnack   = 2
	typePublish   = 3
	typeSubscribe = 8
	typeSuback    = 9
	typePingreq   = 12
	typePingresp  = 13
)

// maxPacket caps the packets gown keeps in memory: a PUBLISH with a larger
// payload is counted and its bytes skipped (they still count towards the
// connection's read cap), never held.
const maxPacket = 64 << 10

// keepAlive is the keep-alive gown announces, in seconds: longer than any
// listening window, so the broker never expects a PINGREQ gown would not
// send.
const keepAlive = 60

// packet is one control packet as read: its type, the flags of the first
// byte, the remaining length and, unless it was skipped, the body.
type packet struct {
	typ, flags byte
	length     int
	body       []byte // nil when skipped (length > maxPacket)
}

// errNotMQTT marks a reply that cannot be an MQTT packet from a broker.
var errNotMQTT = fmt.Errorf("%w: the reply is not MQTT", gown.ErrNotService)

// readPacket reads one control packet. The remaining length is at most four
// bytes of 7 bits each (the spec's limit, 268,435,455); a body over
// maxPacket is discarded as it is read, not kept.
func readPacket(r *bufio.Reader) (packet, error) {
	b, err := r.ReadByte()
	if err != nil {
		return packet{}, err
	}
	p := packet{typ: b >> 4, flags: b & 0x0f}
	if p.typ == 0 || p.typ == 15 {
		return p, fmt.Errorf("first byte 0x%02x: %w", b, errNotMQTT)
	}
	mult := 1
	for i := 0; ; i++ {
		if i == 4 {
			return p, fmt.Errorf("remaining length over four bytes: %w", errNotMQTT)
		}
		c, err := r.ReadByte()
		if err != nil {
			return p, noEOF(err)
		}
		p.length += int(c&0x7f) * mult
		if c&0x80 == 0 {
			break
		}
		mult <<= 7
	}
	if p.length > maxPacket {
		if _, err := io.CopyN(io.Discard, r, int64(p.length)); err != nil {
			return p, noEOF(err)
		}
		return p, nil
	}
	p.body = make([]byte, p.length)
	if _, err := io.ReadFull(r, p.body); err != nil {
		return p, noEOF(err)
	}
	return p, nil
}

// noEOF turns an end of stream inside a packet into ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendLength appends a remaining length.
func appendLength(b []byte, n int) []byte {
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			c |= 0x80
		}
		b = append(b, c)
		if n == 0 {
			return b
		}
	}
}

// appendString appends a length-prefixed UTF-8 string.
func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// connectPacket is CONNECT for MQTT 3.1.1 ("MQTT", level 4) with a clean
// session, no user name, no password and no will: an anonymous client that
// leaves nothing behind on the broker.
func connectPacket(clientID string) []byte {
	var v []byte
	v = appendString(v, "MQTT")
	v = append(v, 4, 0x02) // protocol level 4 (3.1.1); flags: clean session only
	v = binary.BigEndian.AppendUint16(v, keepAlive)
	v = appendString(v, clientID)
	return append(appendLength([]byte{typeConnect << 4}, len(v)), v...)
}

// subscribePacket is SUBSCRIBE (packet id 1) to each filter at QoS 0, so
// that the broker sends PUBLISH packets that need no acknowledgement.
func subscribePacket(filters ...string) []byte {
	v := []byte{0, 1}
	for _, f := range filters {
		v = appendString(v, f)
		v = append(v, 0)
	}
	// SUBSCRIBE's fixed header flags are 0010 (spec 3.8.1).
	return append(appendLength([]byte{typeSubscribe<<4 | 2}, len(v)), v...)
}

// pingreqPacket is PINGREQ, a fixed, body-less packet.
var pingreqPacket = []byte{typePingreq << 4, 0}

// connack is a broker's answer to CONNECT.
type connack struct {
	sessionPresent bool
	code           byte
}

// parseConnack reads CONNACK's two bytes (3.1.1); an MQTT 5 broker answering
// a 3.1.1 CONNECT also sends two, and older brokers the same shape.
func parseConnack(p packet) (connack, error) {
	if p.typ != typeConnack {
		return connack{}, fmt.Errorf("packet type %d where CONNACK was due: %w", p.typ, errNotMQTT)
	}
	if p.length != 2 || len(p.body) != 2 || p.body[0]&^1 != 0 {
		return connack{}, fmt.Errorf("CONNACK of %d bytes: %w", p.length, gown.ErrProtocol)
	}
	return connack{sessionPresent: p.body[0] == 1, code: p.body[1]}, nil
}

// readConnack reads the broker's first packet, which must be CONNACK: a
// first byte other than 0x20 is not MQTT (HTTP, a RESP error, a banner),
// judged before any length is read, so that text is never taken for a
// length to wait for.
func readConnack(r *bufio.Reader) (connack, error) {
	b, err := r.Peek(1)
	if err != nil {
		return connack{}, err
	}
	if b[0] != typeConnack<<4 {
		return connack{}, fmt.Errorf("first byte 0x%02x where CONNACK was due: %w", b[0], errNotMQTT)
	}
	p, err := readPacket(r)
	if err != nil {
		return connack{}, err
	}
	return parseConnack(p)
}

// connackText names CONNACK return codes (3.1.1, section 3.2.2.3).
func connackText(code byte) string {
	switch code {
	case 0:
		return "connection accepted"
	case 1:
		return "unacceptable protocol version"
	case 2:
		return "identifier rejected"
	case 3:
		return "server unavailable"
	case 4:
		return "bad user name or password"
	case 5:
		return "not authorized"
	}
	return fmt.Sprintf("return code %d", code)
}

// parseSuback reads SUBACK for packet id 1: one return code per filter,
// 0-2 the granted QoS, 0x80 failure.
func parseSuback(p packet, filters int) ([]byte, error) {
	if p.typ != typeSuback {
		return nil, fmt.Errorf("packet type %d where SUBACK was due: %w", p.typ, gown.ErrProtocol)
	}
	if len(p.body) != 2+filters || p.body[0] != 0 || p.body[1] != 1 {
		return nil, fmt.Errorf("SUBACK of %d bytes for %d filters: %w", p.length, filters, gown.ErrProtocol)
	}
	codes := p.body[2:]
	for _, c := range codes {
		if c > 2 && c != 0x80 {
			return nil, fmt.Errorf("SUBACK return code 0x%02x: %w", c, gown.ErrProtocol)
		}
	}
	return codes, nil
}

// message is one PUBLISH as received.
type message struct {
	topic   string
	payload []byte // nil when the packet was skipped for its size
	size    int    // the payload's length
	retain  bool
}

// parsePublish reads a PUBLISH: the topic, a packet id when QoS > 0, and
// the payload. A skipped (oversized) packet gives no topic: it is counted,
// not placed.
func parsePublish(p packet) (message, error) {
	m := message{retain: p.flags&1 == 1}
	qos := (p.flags >> 1) & 3
	if qos == 3 {
		return m, fmt.Errorf("PUBLISH with QoS 3: %w", gown.ErrProtocol)
	}
	if p.body == nil {
		m.size = p.length
		return m, nil
	}
	b := p.body
	if len(b) < 2 {
		return m, fmt.Errorf("PUBLISH of %d bytes: %w", len(b), gown.ErrProtocol)
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n || n == 0 {
		return m, fmt.Errorf("PUBLISH topic of %d bytes in %d: %w", n, len(b), gown.ErrProtocol)
	}
	topic := b[2 : 2+n]
	if !utf8.Valid(topic) {
		return m, fmt.Errorf("PUBLISH topic not UTF-8: %w", gown.ErrProtocol)
	}
	b = b[2+n:]
	if qos > 0 {
		if len(b) < 2 {
			return m, fmt.Errorf("PUBLISH without its packet id: %w", gown.ErrProtocol)
		}
		b = b[2:]
	}
	m.topic, m.payload, m.size = string(topic), b, len(b)
	return m, nil
}
