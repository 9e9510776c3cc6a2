package mongodb

import (
	"bytes"
	"testing"

	"github.com/gownscan/gown"
)

// FuzzOpMsg feeds arbitrary bytes, as a server's reply to request 1, to the
// reader and decoder, then reads the body as every step of the session
// would. Whatever the bytes, nothing may panic, nothing past the cap may be
// allocated, and a body handed on must be valid BSON. Seeds in
// testdata/fuzz/FuzzOpMsg are FerretDB's replies framed as they came.
func FuzzOpMsg(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		h, payload, err := readMessage(bytes.NewReader(data), maxMessage)
		if err != nil {
			return
		}
		if len(payload) > maxMessage {
			t.Fatalf("payload of %d bytes past the cap", len(payload))
		}
		body, err := parseMsg(h, payload)
		if h.opCode == opReply {
			body, _, err = parseReply(payload)
		}
		if err != nil {
			return
		}
		if err := body.Validate(); err != nil {
			t.Fatalf("invalid body handed on: %v", err)
		}
		r := &gown.Result{}
		refusal(body)
		fromHello(r, body)
		fromBuildInfo(r, body)
		dbs, _, _, _ := parseDatabases(body)
		if len(dbs) > maxListed {
			t.Fatalf("%d databases kept, cap %d", len(dbs), maxListed)
		}
		count(body, "objects")
	})
}
