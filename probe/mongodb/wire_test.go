package mongodb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"

	"github.com/gownscan/gown"
	"go.mongodb.org/mongo-driver/v2/bson"
)

func TestEncodeMsg(t *testing.T) {
	body := doc(t, bson.D{{Key: "hello", Value: int32(1)}, {Key: "$db", Value: "admin"}})
	got := encodeMsg(7, body)
	// length 52, requestID 7, responseTo 0, opCode 2013, flagBits 0, kind 0.
	want := "4\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00\xdd\x07\x00\x00" + "\x00\x00\x00\x00" + "\x00" +
		"\x1f\x00\x00\x00\x10hello\x00\x01\x00\x00\x00\x02$db\x00\x06\x00\x00\x00admin\x00\x00"
	if string(got) != want {
		t.Errorf("encodeMsg = %q\nwant %q", got, want)
	}
	q := encodeQuery(3, "admin.$cmd", doc(t, bson.D{{Key: "isMaster", Value: int32(1)}}))
	wantQ := ":\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\xd4\x07\x00\x00" + "\x00\x00\x00\x00" + "admin.$cmd\x00" +
		"\x00\x00\x00\x00" + "\xff\xff\xff\xff" + "\x13\x00\x00\x00\x10isMaster\x00\x01\x00\x00\x00\x00"
	if string(q) != wantQ {
		t.Errorf("encodeQuery = %q\nwant %q", q, wantQ)
	}
}

// msg builds an OP_MSG reply with the given flag bits and sections.
func msg(responseTo int32, flags uint32, sections ...[]byte) []byte {
	b := make([]byte, headerLen)
	b = binary.LittleEndian.AppendUint32(b, flags)
	for _, s := range sections {
		b = append(b, s...)
	}
	putHeader(b, header{length: int32(len(b)), requestID: 9, responseTo: responseTo, opCode: opMsg})
	return b
}

func kind0(d []byte) []byte { return append([]byte{0}, d...) }

func withChecksum(m []byte) []byte {
	m = append(m, 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(m, uint32(len(m)))
	sum := crc32.Checksum(m[:len(m)-4], castagnoli())
	binary.LittleEndian.PutUint32(m[len(m)-4:], sum)
	return m
}

func TestReadReply(t *testing.T) {
	ok := doc(t, bson.D{{Key: "ok", Value: 1.0}})
	seq := append([]byte{1, 14, 0, 0, 0}, append([]byte("docs\x00"), 5, 0, 0, 0, 0)...)
	badChecksum := withChecksum(msg(1, flagChecksum, kind0(ok)))
	badChecksum[len(badChecksum)-1] ^= 0xff
	huge := make([]byte, headerLen)
	putHeader(huge, header{length: maxMessage + 1, responseTo: 1, opCode: opMsg})

	cases := []struct {
		name string
		in   []byte
		err  error // nil: the body ok comes out
	}{
		{"plain", msg(1, 0, kind0(ok)), nil},
		{"document sequence skipped", msg(1, 0, seq, kind0(ok)), nil},
		{"checksum", withChecksum(msg(1, flagChecksum, kind0(ok))), nil},
		{"bad checksum", badChecksum, gown.ErrProtocol},
		{"unknown required flag", msg(1, 1<<5, kind0(ok)), gown.ErrProtocol},
		{"optional flag", msg(1, 1<<16, kind0(ok)), nil},
		{"no body", msg(1, 0, seq), gown.ErrProtocol},
		{"two bodies", msg(1, 0, kind0(ok), kind0(ok)), gown.ErrProtocol},
		{"section kind 2", msg(1, 0, []byte{2, 5, 0, 0, 0, 0}), gown.ErrProtocol},
		{"body past the end", msg(1, 0, []byte{0, 50, 0, 0, 0, 0}), gown.ErrProtocol},
		{"invalid bson", msg(1, 0, []byte{0, 6, 0, 0, 0, 8, 0}), gown.ErrProtocol},
		{"wrong request", msg(2, 0, kind0(ok)), gown.ErrProtocol},
		{"over the cap", huge, gown.ErrReplyTooLarge},
		{"shorter than header", []byte("\x0f\x00\x00\x00" + "\x00\x00\x00\x00\x01\x00\x00\x00\xdd\x07\x00\x00"), gown.ErrProtocol},
		{"negative length", []byte("\xff\xff\xff\xff" + "\x00\x00\x00\x00\x01\x00\x00\x00\xdd\x07\x00\x00"), gown.ErrProtocol},
		{"cut short", msg(1, 0, kind0(ok))[:20], io.ErrUnexpectedEOF},
		{"empty", nil, io.EOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, err := readOpMsg(bytes.NewReader(c.in), 1)
			if c.err == nil {
				if err != nil || !bytes.Equal(body, ok) {
					t.Errorf("got %v, %v; want the body", body, err)
				}
				return
			}
			if !errors.Is(err, c.err) {
				t.Errorf("error %v, want %v", err, c.err)
			}
		})
	}
}

// readOpMsg is the reader and decoder a session runs on a reply to request
// id, without the session.
func readOpMsg(r io.Reader, id int32) (bson.Raw, error) {
	h, payload, err := readMessage(r, maxMessage)
	if err != nil {
		return nil, err
	}
	if err := checkReply(h, id, opMsg); err != nil {
		return nil, err
	}
	return parseMsg(h, payload)
}

func TestParseReply(t *testing.T) {
	body := doc(t, bson.D{{Key: "ismaster", Value: true}, {Key: "ok", Value: 1.0}})
	m := frameReply(4, body)
	h, payload, err := readMessage(bytes.NewReader(m), maxMessage)
	if err != nil || checkReply(h, 4, opReply) != nil {
		t.Fatalf("%v %v", err, checkReply(h, 4, opReply))
	}
	got, failed, err := parseReply(payload)
	if err != nil || failed || !bytes.Equal(got, body) {
		t.Errorf("parseReply = %v %v %v", got, failed, err)
	}
	// No document, then a document longer than what is left.
	for _, p := range [][]byte{payload[:20], append(append([]byte{}, payload[:20]...), 99, 0, 0, 0)} {
		if _, _, err := parseReply(p); !errors.Is(err, gown.ErrProtocol) {
			t.Errorf("parseReply(%q) error %v", p, err)
		}
	}
	var oe *opcodeError
	if err := checkReply(h, 4, opMsg); !errors.As(err, &oe) || oe.got != opReply {
		t.Errorf("OP_REPLY to OP_MSG: %v", err)
	}
}

func TestCount(t *testing.T) {
	d := doc(t, bson.D{
		{Key: "i32", Value: int32(7)}, {Key: "i64", Value: int64(1) << 40}, {Key: "f", Value: 12.9},
		{Key: "neg", Value: int64(-1)}, {Key: "huge", Value: 1e30}, {Key: "s", Value: "12"},
	})
	cases := []struct {
		key  string
		want uint64
		ok   bool
	}{
		{"i32", 7, true}, {"i64", 1 << 40, true}, {"f", 12, true},
		{"neg", 0, false}, {"huge", ^uint64(0), true}, {"s", 0, false}, {"missing", 0, false},
	}
	for _, c := range cases {
		if got, ok := count(d, c.key); got != c.want || ok != c.ok {
			t.Errorf("count(%s) = %d %v, want %d %v", c.key, got, ok, c.want, c.ok)
		}
	}
}

func TestRefusal(t *testing.T) {
	cases := []struct {
		d     bson.D
		ok    bool
		code  int64
		unath bool
	}{
		{bson.D{{Key: "ok", Value: 1.0}}, true, 0, false},
		{bson.D{{Key: "ok", Value: int32(1)}}, true, 0, false},
		{bson.D{{Key: "ok", Value: true}}, true, 0, false},
		{bson.D{{Key: "ok", Value: 0.0}, {Key: "code", Value: int32(13)}}, false, 13, true},
		{bson.D{{Key: "ok", Value: 0.0}, {Key: "codeName", Value: "Unauthorized"}}, false, 0, true},
		{bson.D{{Key: "$err", Value: "not authorized"}, {Key: "code", Value: int32(13)}}, false, 13, true},
		{bson.D{{Key: "x", Value: 1}}, false, 0, false},
	}
	for _, c := range cases {
		e := refusal(doc(t, c.d))
		if (e == nil) != c.ok || (e != nil && (e.code != c.code || e.unauthorized() != c.unath)) {
			t.Errorf("refusal(%v) = %+v", c.d, e)
		}
	}
}

func TestAllowList(t *testing.T) {
	s := &session{}
	for _, name := range []string{"insert", "drop", "find", "eval", "shutdown"} {
		if _, err := s.command(name, "admin", bson.D{{Key: name, Value: 1}}); err == nil {
			t.Errorf("command %s was not refused", name)
		}
	}
}
