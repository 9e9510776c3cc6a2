package mysql

import (
	"bytes"
	"testing"
)

// The fuzz targets feed the parsers from a byte reader, the way the session
// feeds them from the connection: the parsers take an io.Reader, so neither
// a socket nor probe.Conn is needed to reach every branch. Seeds live in
// testdata/fuzz/<Name>/ and include the greeting real MariaDB 10.11 sent.

func FuzzReadPacket(f *testing.F) {
	f.Add(realGreeting)
	f.Add([]byte("\xff\xff\xff\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, p, err := readPacket(bytes.NewReader(data), maxGreeting)
		if err == nil && len(p) > maxGreeting {
			t.Fatalf("payload of %d bytes passed a cap of %d", len(p), maxGreeting)
		}
	})
}

func FuzzGreeting(f *testing.F) {
	f.Add(realGreeting)
	f.Fuzz(func(t *testing.T, data []byte) {
		g, e, err := readGreeting(bytes.NewReader(data))
		switch {
		case err != nil && (g != nil || e != nil):
			t.Fatalf("error %v with a greeting or ERR", err)
		case err == nil && (g == nil) == (e == nil):
			t.Fatalf("want exactly one of greeting and ERR, got %v and %v", g, e)
		case g != nil:
			if !plausibleVersion([]byte(g.Version)) || len(g.AuthPlugin) > 64 || g.product() == "" || g.plugin() == "" {
				t.Fatalf("implausible greeting accepted: %+v", g)
			}
			_ = g.version()
		case e != nil:
			if e.Code < 1000 || len(e.Message) > 200 {
				t.Fatalf("implausible ERR accepted: %+v", e)
			}
		}
	})
}

func FuzzResultSet(f *testing.F) {
	var b []byte
	for i, p := range resultSetPackets(true, appRows...) {
		b = appendPacket(b, byte(i+1), p)
	}
	f.Add(b, true)
	f.Fuzz(func(t *testing.T, data []byte, deprecateEOF bool) {
		rows, truncated, err := readResultSet(rowsReader{bytes.NewReader(data)}, deprecateEOF, 4)
		if err != nil {
			return
		}
		if len(rows) > 4 {
			t.Fatalf("%d rows past a cap of 4", len(rows))
		}
		inv, err := inventory(rows, truncated)
		if err != nil {
			return
		}
		var items, size uint64
		for _, d := range inv.Databases {
			if !d.System {
				items, size = items+d.Items, size+d.Bytes
			}
		}
		if items != inv.Items || size != inv.Bytes {
			t.Fatalf("totals %d/%d, databases sum to %d/%d", inv.Items, inv.Bytes, items, size)
		}
	})
}
