package extract

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// FuzzRead feeds whole archives to the extractor: zip structure, Deflate
// streams (extract/internal/inflate, whole and sliding), nested archives and
// every entry reader behind them. Any input must give an App, with errors in
// App.Errors, inside the caps and without a panic. Seeds: small apps of the
// kinds the tests build, kept in testdata/fuzz/FuzzRead, and these.
func FuzzRead(f *testing.F) {
	f.Add(zipOf(f, entry{name: "classes.dex", data: []byte("dex\n035\x00")},
		entry{name: "assets/config.json", data: []byte(`{"api":"https://api.example.com:9200/"}`)}))
	f.Add(zipOf(f, entry{name: "inner.apk", data: zipOf(f, entry{name: "res/raw/x.txt", data: []byte("mongodb://u:p@db.example.com/app")})},
		entry{name: "manifest.json", data: []byte(`{"split_apks":[{"file":"inner.apk"}]}`)}))
	f.Add(zipOf(f, entry{name: "Payload/A.app/Info.plist", data: []byte("<plist><dict/></plist>"), store: true}))
	x, err := New(Config{Catalog: catalog, MaxEntries: 64, MaxEntrySize: 1 << 20, MaxTotal: 4 << 20, MaxRatio: 100, MaxDepth: 2})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app := x.Read(ctx, bytes.NewReader(data), int64(len(data)), "fuzz.apk")
		if app == nil {
			t.Fatal("no app")
		}
		if ctx.Err() != nil {
			t.Fatalf("read of %d bytes ran into the 10 s deadline", len(data))
		}
	})
}
