package mongodb

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// capture rewrites testdata/ferretdb/ from real FerretDB servers:
//
//	go test ./probe/mongodb -run TestCapture -capture
//
// Each file is the BSON body of one reply FerretDB v1.24.2 gave to the very
// command gown sends, named "<command>.bson" or "<command>.<db>.bson". The
// replayed-server tests and the fuzz seeds are built from them.
var capture = flag.Bool("capture", false, "rewrite testdata/ferretdb from real FerretDB servers")

// gownCommands are the requests gown makes of a server, in order.
var gownCommands = []struct{ db, file string }{
	{"admin", "hello"},
	{"admin", "buildInfo"},
	{"admin", "listDatabases"},
	{"admin", "getLog"},
}

func TestCapture(t *testing.T) {
	if !*capture {
		t.Skip("run with -capture to rewrite testdata/ferretdb")
	}
	open := server(t, "mongodb-open")
	recordReplies(t, open.Addr.String(), "open", open.Want.Databases)
	auth := server(t, "mongodb-auth")
	recordReplies(t, auth.Addr.String(), "auth", nil)
}

// recordReplies sends gown's commands (and dbStats per planted database)
// with the test's own client and writes each reply body.
func recordReplies(t *testing.T, addr, name string, dbs map[string]uint64) {
	t.Helper()
	out := filepath.Join("testdata", "ferretdb", name)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	w := dialWriter(t, addr, false)
	save := func(file string, doc bson.Raw) {
		if err := os.WriteFile(filepath.Join(out, file+".bson"), doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range gownCommands {
		save(c.file, w.try(t, c.db, commandFor(c.file)))
	}
	for db := range dbs {
		save("dbStats."+db, w.try(t, db, bson.D{{Key: "dbStats", Value: 1}}))
	}
}

// commandFor builds the command gown sends for a name, exactly as the
// session does.
func commandFor(name string) bson.D {
	switch name {
	case "listDatabases":
		return bson.D{{Key: "listDatabases", Value: 1}, {Key: "nameOnly", Value: false}}
	case "getLog":
		return bson.D{{Key: "getLog", Value: "startupWarnings"}}
	}
	return bson.D{{Key: name, Value: 1}}
}
