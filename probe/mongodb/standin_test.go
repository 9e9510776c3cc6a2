package mongodb

import (
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// STAND-INS. No MongoDB server can be had here (testbed.md), so the tests in
// this file replay replies written from MongoDB's documentation and from
// what MongoDB 6.0 and 7.0 are documented and widely reported to answer.
// They cover the cases FerretDB cannot show: MongoDB's own buildInfo, the
// ambiguous empty listing, system databases, secondaries, hello-less and
// OP_MSG-less old servers. Everything FerretDB can show is tested against
// FerretDB itself (real_test.go) and its captured replies (replay_test.go).

// mongo7Hello is a MongoDB 7.0 standalone's hello reply.
func mongo7Hello(t testing.TB) bson.Raw {
	return doc(t, bson.D{
		{Key: "isWritablePrimary", Value: true},
		{Key: "topologyVersion", Value: bson.D{{Key: "processId", Value: bson.NewObjectID()}, {Key: "counter", Value: int64(0)}}},
		{Key: "maxBsonObjectSize", Value: int32(16777216)},
		{Key: "maxMessageSizeBytes", Value: int32(48000000)},
		{Key: "maxWriteBatchSize", Value: int32(100000)},
		{Key: "localTime", Value: bson.NewDateTimeFromTime(time.Unix(1700000000, 0))},
		{Key: "logicalSessionTimeoutMinutes", Value: int32(30)},
		{Key: "connectionId", Value: int32(12)},
		{Key: "minWireVersion", Value: int32(0)},
		{Key: "maxWireVersion", Value: int32(21)},
		{Key: "readOnly", Value: false},
		{Key: "ok", Value: 1.0},
	})
}

// mongoBuildInfo is a MongoDB buildInfo reply (fields abridged).
func mongoBuildInfo(t testing.TB, version string) bson.Raw {
	return doc(t, bson.D{
		{Key: "version", Value: version},
		{Key: "gitVersion", Value: "ce59cfc6a3c5e5c067dca0d30697edd68d4f5188"},
		{Key: "modules", Value: bson.A{}},
		{Key: "allocator", Value: "tcmalloc"},
		{Key: "javascriptEngine", Value: "mozjs"},
		{Key: "sysInfo", Value: "deprecated"},
		{Key: "bits", Value: int32(64)},
		{Key: "debug", Value: false},
		{Key: "maxBsonObjectSize", Value: int32(16777216)},
		{Key: "ok", Value: 1.0},
	})
}

// unauthorized is MongoDB's refusal of a command to an unauthenticated
// client when authorization is enabled.
func unauthorized(t testing.TB, cmd string) bson.Raw {
	return doc(t, bson.D{
		{Key: "ok", Value: 0.0},
		{Key: "errmsg", Value: "Command " + cmd + " requires authentication"},
		{Key: "code", Value: int32(13)},
		{Key: "codeName", Value: "Unauthorized"},
	})
}

// emptyListing is the ok:1 listing with no databases that MongoDB can give
// a client that may see none of them.
func emptyListing(t testing.TB) bson.Raw {
	return doc(t, bson.D{{Key: "databases", Value: bson.A{}}, {Key: "totalSize", Value: int64(0)},
		{Key: "totalSizeMb", Value: int64(0)}, {Key: "ok", Value: 1.0}})
}

// mongoDBStats is a MongoDB 7.0 dbStats reply; its counts come in several
// numeric types.
func mongoDBStats(t testing.TB, db string, collections int32, objects int64) bson.Raw {
	return doc(t, bson.D{
		{Key: "db", Value: db}, {Key: "collections", Value: collections}, {Key: "views", Value: int32(0)},
		{Key: "objects", Value: objects}, {Key: "avgObjSize", Value: 120.5}, {Key: "dataSize", Value: float64(objects) * 120.5},
		{Key: "storageSize", Value: 20480.0}, {Key: "indexes", Value: collections}, {Key: "indexSize", Value: 20480.0},
		{Key: "totalSize", Value: 40960.0}, {Key: "scaleFactor", Value: int32(1)},
		{Key: "fsUsedSize", Value: 1.0e10}, {Key: "fsTotalSize", Value: 5.0e10}, {Key: "ok", Value: 1.0},
	})
}

func mongo7(t *testing.T, more map[string]bson.Raw) *replay {
	replies := map[string]bson.Raw{"hello": mongo7Hello(t), "buildInfo": mongoBuildInfo(t, "7.0.14")}
	for k, v := range more {
		replies[k] = v
	}
	return &replay{replies: replies}
}

func mustProbe(t *testing.T, rp *replay, tlsHint bool) *gown.Result {
	t.Helper()
	r, err := probeReplay(t, rp.start(t), tlsHint)
	if r == nil {
		t.Fatalf("no result: %v", err)
	}
	return r
}

func wantCommands(t *testing.T, rp *replay, want ...string) {
	t.Helper()
	if got := rp.commands(); !slices.Equal(got, want) {
		t.Errorf("server received %v, want %v", got, want)
	}
}

func TestStandInMongo7Unauthorized(t *testing.T) {
	rp := mongo7(t, map[string]bson.Raw{"listDatabases": unauthorized(t, "listDatabases")})
	r := mustProbe(t, rp, false)
	wantVerdict(t, r, gown.StatusAuthRequired, "listDatabases requires authentication (code 13 Unauthorized)")
	if r.Product != "MongoDB" || r.Version != "7.0.14" || r.Details["role"] != "standalone" || r.Details["max_wire_version"] != "21" {
		t.Errorf("product %q version %q details %v", r.Product, r.Version, r.Details)
	}
	wantCommands(t, rp, "hello", "buildInfo", "listDatabases")
}

// TestStandInEmptyListing is the trap of stores.md: ok:1 with no databases
// is not open until a second read says so.
func TestStandInEmptyListing(t *testing.T) {
	cases := []struct {
		name   string
		getLog bson.Raw
		status gown.Status
		reason string
	}{
		{"auth on", unauthorized(t, "getLog"), gown.StatusAuthRequired,
			"listDatabases listed no databases and getLog requires authentication (code 13 Unauthorized)"},
		{"open and empty", doc(t, bson.D{{Key: "totalLinesWritten", Value: int32(0)}, {Key: "log", Value: bson.A{}}, {Key: "ok", Value: 1.0}}),
			gown.StatusOpen, "listDatabases listed no databases and getLog answered without credentials: open, but empty"},
		{"getLog unknown", doc(t, bson.D{{Key: "ok", Value: 0.0}, {Key: "errmsg", Value: "no such command: 'getLog'"},
			{Key: "code", Value: int32(59)}, {Key: "codeName", Value: "CommandNotFound"}}),
			gown.StatusUnknown, `listDatabases listed no databases and getLog was refused: code 59 CommandNotFound "no such command: 'getLog'"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rp := mongo7(t, map[string]bson.Raw{"listDatabases": emptyListing(t), "getLog": c.getLog})
			rp.replies["buildInfo"] = mongoBuildInfo(t, "6.0.19")
			r := mustProbe(t, rp, false)
			wantVerdict(t, r, c.status, c.reason)
			if (r.Inventory != nil) != (c.status == gown.StatusOpen) {
				t.Errorf("inventory %+v with status %s", r.Inventory, r.Status)
			}
			wantCommands(t, rp, "hello", "buildInfo", "listDatabases", "getLog")
		})
	}
}

// TestStandInSystemDatabases: admin, config and local are listed but
// counted apart; totalSize, the whole server's figure, gives the bytes.
func TestStandInSystemDatabases(t *testing.T) {
	listing := doc(t, bson.D{{Key: "databases", Value: bson.A{
		bson.D{{Key: "name", Value: "admin"}, {Key: "sizeOnDisk", Value: int64(40960)}, {Key: "empty", Value: false}},
		bson.D{{Key: "name", Value: "config"}, {Key: "sizeOnDisk", Value: int64(12288)}, {Key: "empty", Value: false}},
		bson.D{{Key: "name", Value: "local"}, {Key: "sizeOnDisk", Value: 73728.0}, {Key: "empty", Value: false}},
		bson.D{{Key: "name", Value: "shop"}, {Key: "sizeOnDisk", Value: int64(81920)}, {Key: "empty", Value: false}},
	}}, {Key: "totalSize", Value: int64(208896)}, {Key: "totalSizeMb", Value: int64(0)}, {Key: "ok", Value: 1.0}})
	rp := mongo7(t, map[string]bson.Raw{
		"listDatabases":  listing,
		"dbStats.shop":   mongoDBStats(t, "shop", 2, 550),
		"dbStats.admin":  mongoDBStats(t, "admin", 1, 3),
		"dbStats.config": mongoDBStats(t, "config", 2, 9),
		"dbStats.local":  mongoDBStats(t, "local", 1, 1),
	})
	r := mustProbe(t, rp, false)
	wantVerdict(t, r, gown.StatusOpen, "listDatabases answered without credentials (4 databases)")
	inv := r.Inventory
	want := []gown.Database{
		{Name: "admin", Items: 3, Bytes: 40960, System: true},
		{Name: "config", Items: 9, Bytes: 12288, System: true},
		{Name: "local", Items: 1, Bytes: 73728, System: true},
		{Name: "shop", Items: 550, Bytes: 81920},
	}
	if !equalDBs(inv.Databases, want) || inv.Items != 550 || inv.Bytes != 208896 || r.Details["collections"] != "2" {
		t.Errorf("inventory %+v details %v", inv, r.Details)
	}
	// Application databases are counted first.
	wantCommands(t, rp, "hello", "buildInfo", "listDatabases", "dbStats", "dbStats", "dbStats", "dbStats")
	if rp.seen[3].Lookup("$db").StringValue() != "shop" {
		t.Errorf("first dbStats on %s", rp.seen[3].Lookup("$db"))
	}
}

// TestStandInManyDatabases: past 20 databases, the rest are listed with
// their size but not counted, and the inventory says so.
func TestStandInManyDatabases(t *testing.T) {
	var dbs bson.A
	replies := map[string]bson.Raw{}
	for i := range 25 {
		name := fmt.Sprintf("tenant%02d", i)
		dbs = append(dbs, bson.D{{Key: "name", Value: name}, {Key: "sizeOnDisk", Value: int64(8192)}, {Key: "empty", Value: false}})
		replies["dbStats."+name] = mongoDBStats(t, name, 1, 10)
	}
	replies["listDatabases"] = doc(t, bson.D{{Key: "databases", Value: dbs}, {Key: "totalSize", Value: int64(25 * 8192)}, {Key: "ok", Value: 1.0}})
	rp := mongo7(t, replies)
	r := mustProbe(t, rp, false)
	wantVerdict(t, r, gown.StatusOpen, "listDatabases answered without credentials (25 databases)")
	inv := r.Inventory
	if len(inv.Databases) != 25 || inv.Items != 200 || !inv.Truncated || r.Details["counted"] != "20 of 25 databases" {
		t.Errorf("inventory %+v details %v", inv, r.Details)
	}
	if n := len(rp.commands()); n != 3+maxCounted {
		t.Errorf("%d commands sent, want %d", n, 3+maxCounted)
	}
}

// TestStandInHelloUnknown: servers before 4.4.2 (and 4.2.10, 4.0.21) refuse
// hello; isMaster over OP_MSG follows.
func TestStandInHelloUnknown(t *testing.T) {
	rp := mongo7(t, map[string]bson.Raw{
		"hello": doc(t, bson.D{{Key: "ok", Value: 0.0}, {Key: "errmsg", Value: "no such command: 'hello'"},
			{Key: "code", Value: int32(59)}, {Key: "codeName", Value: "CommandNotFound"}}),
		"isMaster":      doc(t, bson.D{{Key: "ismaster", Value: true}, {Key: "maxWireVersion", Value: int32(7)}, {Key: "ok", Value: 1.0}}),
		"listDatabases": unauthorized(t, "listDatabases"),
	})
	rp.replies["buildInfo"] = mongoBuildInfo(t, "4.0.3")
	r := mustProbe(t, rp, false)
	wantVerdict(t, r, gown.StatusAuthRequired, "listDatabases requires authentication (code 13 Unauthorized)")
	if r.Version != "4.0.3" || r.Details["max_wire_version"] != "7" {
		t.Errorf("version %q details %v", r.Version, r.Details)
	}
	wantCommands(t, rp, "hello", "isMaster", "buildInfo", "listDatabases")
}

// TestStandInLegacy: a server before 3.6 ignores OP_MSG and keeps the
// connection open; the same commands go again as OP_QUERY.
func TestStandInLegacy(t *testing.T) {
	rp := &replay{ignoreMsg: true, legacy: true, replies: map[string]bson.Raw{
		"isMaster":  doc(t, bson.D{{Key: "ismaster", Value: true}, {Key: "maxWireVersion", Value: int32(5)}, {Key: "ok", Value: 1.0}}),
		"buildInfo": mongoBuildInfo(t, "3.4.24"),
		"listDatabases": doc(t, bson.D{{Key: "databases", Value: bson.A{
			bson.D{{Key: "name", Value: "app"}, {Key: "sizeOnDisk", Value: 65536.0}, {Key: "empty", Value: false}},
		}}, {Key: "totalSize", Value: 65536.0}, {Key: "ok", Value: 1.0}}),
		"dbStats.app": mongoDBStats(t, "app", 3, 42),
	}}
	r := mustProbe(t, rp, false)
	wantVerdict(t, r, gown.StatusOpen, "listDatabases answered without credentials (1 databases)")
	if r.Details["framing"] != "op_query" || r.Version != "3.4.24" || r.Inventory.Items != 42 || r.Inventory.Bytes != 65536 {
		t.Errorf("details %v version %q inventory %+v", r.Details, r.Version, r.Inventory)
	}
	wantCommands(t, rp, "isMaster", "buildInfo", "listDatabases", "dbStats")
	if steps := stepNames(r); steps[0] != "hello" || steps[1] != "isMaster" {
		t.Errorf("evidence steps %q: want the unanswered hello, then isMaster", steps)
	}
}

// TestStandInSecondary: a replica-set secondary is asked with a read
// preference, or it would refuse the reads as "not primary".
func TestStandInSecondary(t *testing.T) {
	rp := mongo7(t, map[string]bson.Raw{
		"hello": doc(t, bson.D{{Key: "isWritablePrimary", Value: false}, {Key: "secondary", Value: true},
			{Key: "setName", Value: "rs0"}, {Key: "maxWireVersion", Value: int32(17)}, {Key: "ok", Value: 1.0}}),
		"listDatabases": unauthorized(t, "listDatabases"),
	})
	r := mustProbe(t, rp, false)
	wantVerdict(t, r, gown.StatusAuthRequired, "listDatabases requires authentication (code 13 Unauthorized)")
	if r.Details["role"] != "secondary" || r.Details["set_name"] != "rs0" {
		t.Errorf("details %v", r.Details)
	}
	for _, b := range rp.seen[1:] {
		if b.Lookup("$readPreference", "mode").StringValue() != "primaryPreferred" {
			t.Errorf("%s sent without a read preference", b.Index(0).Key())
		}
	}
}

// TestStandInTLSOnly: a TLS-only server drops a plaintext client; TLS
// follows and the mode is required.
func TestStandInTLSOnly(t *testing.T) {
	rp := mongo7(t, map[string]bson.Raw{"listDatabases": unauthorized(t, "listDatabases")})
	rp.tlsCfg = &tls.Config{Certificates: []tls.Certificate{testCert(t)}}
	r := mustProbe(t, rp, false)
	wantVerdict(t, r, gown.StatusAuthRequired, "listDatabases requires authentication (code 13 Unauthorized)")
	if r.TLS.Mode != gown.TLSRequired || r.TLS.Subject != "CN=db.app.example" {
		t.Errorf("TLS %+v", r.TLS)
	}
}

// TestNotMongo: peers that answer with something else.
func TestNotMongo(t *testing.T) {
	cases := []struct {
		name, raw, reason string
	}{
		{"http", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", "reply is not a MongoDB wire message; it looks like HTTP"},
		{"short length", "\x08\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\xdd\x07\x00\x00", "reply is not a MongoDB wire message"},
		{"wrong request", string(encodeMsg(99, mongo7Hello(t))), "reply is not a MongoDB wire message"},
		{"bad bson", "\x1a\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\xdd\x07\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x01", "reply is not a MongoDB wire message"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			raw := []byte(c.raw)
			if c.name == "wrong request" {
				binary.LittleEndian.PutUint32(raw[8:], 77) // answers request 77, not 1
			}
			r := mustProbe(t, &replay{raw: raw}, false)
			if r.Status != gown.StatusNotService || r.Reason != c.reason || r.Inventory != nil || r.TLS.Mode != "" {
				t.Errorf("got %s %q tls %q, want not-service %q", r.Status, r.Reason, r.TLS.Mode, c.reason)
			}
		})
	}
}

// TestBadLaterReply: once the server is known to be MongoDB, a broken reply
// is an error beside the verdict so far, not a different service.
func TestBadLaterReply(t *testing.T) {
	huge := make([]byte, headerLen)
	putHeader(huge, header{length: 2 << 20, responseTo: 3, opCode: opMsg})
	cases := map[string][]byte{
		"over the cap":  huge,
		"wrong request": encodeMsg(5, emptyListing(t)),
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			rp := mongo7(t, nil)
			rp.rawFor = map[string][]byte{"listDatabases": raw}
			r := mustProbe(t, rp, false)
			if r.Status != gown.StatusUnknown || r.Reason != "listDatabases got no usable reply" || r.Product != "MongoDB" ||
				!strings.Contains(r.Error, "listDatabases") {
				t.Errorf("got %s %q %q, error %q", r.Status, r.Reason, r.Product, r.Error)
			}
		})
	}
}
