package mongodb

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/gownscan/gown"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Opcodes of the wire protocol
// (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/).
const (
	opReply      = 1    // legacy reply to OP_QUERY
	opQuery      = 2004 // legacy query; only isMaster-era servers need it
	opCompressed = 2012 // never negotiated by gown, so never expected
	opMsg        = 2013 // the one message format since MongoDB 3.6
)

const (
	// headerLen is the size of the standard message header: messageLength,
	// requestID, responseTo, opCode, each a little-endian int32.
	headerLen = 16
	// maxMessage caps one reply. Every reply gown asks for is a few KB; a
	// listDatabases of thousands of databases stays well under it. It is
	// checked against the announced length before anything is allocated.
	maxMessage = 1 << 20
	// minBSON is the smallest BSON document: a length and the terminator.
	minBSON = 5
)

// OP_MSG flag bits. Bits 0-15 are "required": a parser must fail on one it
// does not know (the spec's rule), bits 16-31 are optional.
const (
	flagChecksum   = 1 << 0
	flagMoreToCome = 1 << 1
	requiredBits   = 0xffff
	knownBits      = flagChecksum | flagMoreToCome
)

// OP_REPLY responseFlags bit 1: the query failed and the one document is
// {$err, code}.
const replyQueryFailure = 1 << 1

// header is the standard message header.
type header struct {
	length     int32
	requestID  int32
	responseTo int32
	opCode     int32
}

// castagnoli is made on first use: building it costs every gown command
// 0.15 ms at init otherwise.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// putHeader writes h into the first headerLen bytes of b.
func putHeader(b []byte, h header) {
	binary.LittleEndian.PutUint32(b[0:], uint32(h.length))
	binary.LittleEndian.PutUint32(b[4:], uint32(h.requestID))
	binary.LittleEndian.PutUint32(b[8:], uint32(h.responseTo))
	binary.LittleEndian.PutUint32(b[12:], uint32(h.opCode))
}

// encodeMsg frames body as an OP_MSG with no flags and one kind-0 section:
// header, flagBits (0), kind byte (0), the BSON document.
func encodeMsg(requestID int32, body []byte) []byte {
	n := headerLen + 4 + 1 + len(body)
	b := make([]byte, headerLen+4, n)
	putHeader(b, header{length: int32(n), requestID: requestID, opCode: opMsg})
	b = append(b, 0) // section kind 0: the command body
	return append(b, body...)
}

// encodeQuery frames a legacy OP_QUERY on ns (always "<db>.$cmd" here):
// header, flags (0), the namespace as a C string, numberToSkip (0),
// numberToReturn (-1: one document, then close the cursor), the query.
func encodeQuery(requestID int32, ns string, query []byte) []byte {
	n := headerLen + 4 + len(ns) + 1 + 4 + 4 + len(query)
	b := make([]byte, headerLen+4, n)
	putHeader(b, header{length: int32(n), requestID: requestID, opCode: opQuery})
	b = append(b, ns...)
	b = append(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0xffffffff)
	return append(b, query...)
}

// readMessage reads one message and returns its header and the bytes after
// the header. The announced length is checked against limit before the body
// is allocated, so a hostile length costs nothing.
func readMessage(r io.Reader, limit int) (header, []byte, error) {
	var hb [headerLen]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		return header{}, nil, err
	}
	h := header{
		length:     int32(binary.LittleEndian.Uint32(hb[0:])),
		requestID:  int32(binary.LittleEndian.Uint32(hb[4:])),
		responseTo: int32(binary.LittleEndian.Uint32(hb[8:])),
		opCode:     int32(binary.LittleEndian.Uint32(hb[12:])),
	}
	switch {
	case h.length < headerLen:
		return h, nil, fmt.Errorf("%w: message length %d is shorter than its header", gown.ErrProtocol, h.length)
	case int64(h.length) > int64(limit):
		return h, nil, fmt.Errorf("%w: message length %d over the %d-byte cap", gown.ErrReplyTooLarge, h.length, limit)
	}
	body := make([]byte, h.length-headerLen)
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, err
	}
	return h, body, nil
}

// checkReply verifies that h answers request id with the expected opcode.
func checkReply(h header, id, wantOp int32) error {
	if h.opCode != wantOp {
		return &opcodeError{got: h.opCode, want: wantOp}
	}
	if h.responseTo != id {
		return fmt.Errorf("%w: reply answers request %d, not %d", gown.ErrProtocol, h.responseTo, id)
	}
	return nil
}

// opcodeError is a well-framed reply of another opcode than expected: an
// OP_REPLY to an OP_MSG is how some old servers and proxies answer.
type opcodeError struct{ got, want int32 }

func (e *opcodeError) Error() string {
	return fmt.Sprintf("reply opcode %d, want %d", e.got, e.want)
}

func (e *opcodeError) Unwrap() error { return gown.ErrProtocol }

// parseMsg returns the kind-0 body of an OP_MSG payload (the bytes after the
// header). Kind-1 document sequences are skipped; exactly one body must be
// present, and the checksum, when flagged, must match.
func parseMsg(h header, payload []byte) (bson.Raw, error) {
	if len(payload) < 4 {
		return nil, fmt.Errorf("%w: OP_MSG without flag bits", gown.ErrProtocol)
	}
	flags := binary.LittleEndian.Uint32(payload)
	if unknown := flags & requiredBits &^ knownBits; unknown != 0 {
		return nil, fmt.Errorf("%w: OP_MSG sets unknown required flag bits %#x", gown.ErrProtocol, unknown)
	}
	sections := payload[4:]
	if flags&flagChecksum != 0 {
		if len(sections) < 4 {
			return nil, fmt.Errorf("%w: OP_MSG flags a checksum it lacks", gown.ErrProtocol)
		}
		sum := binary.LittleEndian.Uint32(sections[len(sections)-4:])
		sections = sections[:len(sections)-4]
		if !checksumOK(h, payload[:len(payload)-4], sum) {
			return nil, fmt.Errorf("%w: OP_MSG checksum mismatch", gown.ErrProtocol)
		}
	}
	return parseSections(sections)
}

// checksumOK checks the CRC-32C of the whole message up to the checksum.
func checksumOK(h header, payload []byte, sum uint32) bool {
	var hb [headerLen]byte
	putHeader(hb[:], h)
	c := crc32.Update(0, castagnoli(), hb[:])
	return crc32.Update(c, castagnoli(), payload) == sum
}

// parseSections walks the sections and returns the one kind-0 body.
func parseSections(b []byte) (bson.Raw, error) {
	var body bson.Raw
	for len(b) > 0 {
		kind := b[0]
		b = b[1:]
		n, err := sectionLen(kind, b)
		if err != nil {
			return nil, err
		}
		if kind == 0 {
			if body != nil {
				return nil, fmt.Errorf("%w: OP_MSG has two body sections", gown.ErrProtocol)
			}
			body = bson.Raw(b[:n])
		}
		b = b[n:]
	}
	if body == nil {
		return nil, fmt.Errorf("%w: OP_MSG has no body section", gown.ErrProtocol)
	}
	if err := body.Validate(); err != nil {
		return nil, fmt.Errorf("%w: OP_MSG body: %v", gown.ErrProtocol, err)
	}
	return body, nil
}

// sectionLen returns the length of a section's content: a BSON document for
// kind 0, a size-prefixed document sequence for kind 1.
func sectionLen(kind byte, b []byte) (int, error) {
	if kind > 1 {
		return 0, fmt.Errorf("%w: OP_MSG section kind %d", gown.ErrProtocol, kind)
	}
	if len(b) < 4 {
		return 0, fmt.Errorf("%w: OP_MSG section of kind %d cut short", gown.ErrProtocol, kind)
	}
	n := int64(int32(binary.LittleEndian.Uint32(b)))
	least := int64(minBSON)
	if kind == 1 {
		least = 4 + 1 // size and an empty identifier
	}
	if n < least || n > int64(len(b)) {
		return 0, fmt.Errorf("%w: OP_MSG section of kind %d announces %d bytes, %d left", gown.ErrProtocol, kind, n, len(b))
	}
	return int(n), nil
}

// parseReply returns the first document of an OP_REPLY payload and whether
// the server flagged the query as failed.
func parseReply(payload []byte) (doc bson.Raw, failed bool, err error) {
	// responseFlags, cursorID, startingFrom, numberReturned.
	const fixed = 4 + 8 + 4 + 4
	if len(payload) < fixed {
		return nil, false, fmt.Errorf("%w: OP_REPLY of %d bytes", gown.ErrProtocol, len(payload))
	}
	flags := binary.LittleEndian.Uint32(payload)
	count := int32(binary.LittleEndian.Uint32(payload[16:]))
	docs := payload[fixed:]
	if count < 1 || len(docs) < 4 {
		return nil, false, fmt.Errorf("%w: OP_REPLY without a document", gown.ErrProtocol)
	}
	n := int64(int32(binary.LittleEndian.Uint32(docs)))
	if n < minBSON || n > int64(len(docs)) {
		return nil, false, fmt.Errorf("%w: OP_REPLY document announces %d bytes, %d left", gown.ErrProtocol, n, len(docs))
	}
	doc = bson.Raw(docs[:n])
	if err := doc.Validate(); err != nil {
		return nil, false, fmt.Errorf("%w: OP_REPLY document: %v", gown.ErrProtocol, err)
	}
	return doc, flags&replyQueryFailure != 0, nil
}
