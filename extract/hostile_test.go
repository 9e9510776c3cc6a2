package extract

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android/androidtest"
)

// Hostile apps: each must give a clear error on the app, keep what could be
// read, and return quickly.

func errorsOf(t *testing.T, b []byte, cfg Config, name string) []string {
	t.Helper()
	x, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	app := x.Read(context.Background(), bytes.NewReader(b), int64(len(b)), name)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("%s took %v", name, d)
	}
	return app.Errors
}

func wantError(t *testing.T, errs []string, substr string) {
	t.Helper()
	for _, e := range errs {
		if strings.Contains(e, substr) {
			t.Logf("error: %s", e)
			return
		}
	}
	t.Errorf("no error containing %q in %q", substr, errs)
}

func TestZipBomb(t *testing.T) {
	zeros := make([]byte, 64<<20) // deflates about 1000:1
	b := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.bomb", false), false},
		entry{"assets/bomb.bin", zeros, false})
	wantError(t, errorsOf(t, b, Config{Catalog: catalog}, "bomb.apk"), "zip bomb")
}

func TestTotalCap(t *testing.T) {
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, low ratio
	b := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.big", false), false},
		entry{"assets/a", chunk, true}, entry{"assets/b", chunk, true}, entry{"assets/c", chunk, true})
	wantError(t, errorsOf(t, b, Config{Catalog: catalog, MaxTotal: 2 << 20}, "big.apk"), "uncompressed bytes")
}

func TestEntrySizeAndCountCaps(t *testing.T) {
	b := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.x", false), false},
		entry{"assets/a", make([]byte, 4096), false}, entry{"assets/b", nil, false})
	wantError(t, errorsOf(t, b, Config{Catalog: catalog, MaxEntrySize: 1024}, "x.apk"), "max entry size")
	wantError(t, errorsOf(t, b, Config{Catalog: catalog, MaxEntries: 2}, "x.apk"), "3 entries")
}

func TestTruncatedZip(t *testing.T) {
	b, _ := plantedAPK(t, true)
	for _, cut := range []int{len(b) / 3, len(b) - 10} {
		wantError(t, errorsOf(t, b[:cut], Config{Catalog: catalog}, "cut.apk"), "not an app archive")
	}
}

func TestNestedTooDeep(t *testing.T) {
	inner := zipOf(t, entry{"deep.txt", []byte("https://deep.example-nest.net"), false})
	for range 5 {
		inner = zipOf(t, entry{"inner.zip", inner, true})
	}
	b := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.nest", false), false}, entry{"assets/n.zip", inner, true})
	wantError(t, errorsOf(t, b, Config{Catalog: catalog}, "nest.apk"), "deep")
}

func TestDuplicateNames(t *testing.T) {
	b := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.dup", false), false},
		entry{"classes.dex", androidtest.Dex([]string{"https://one.dup-planted.net"}), false},
		entry{"classes.dex", androidtest.Dex([]string{"https://two.dup-planted.net"}), false})
	app := readApp(t, b, "dup.apk")
	wantError(t, app.Errors, `duplicate entry name "classes.dex"`)
	n := 0
	for _, e := range app.Endpoints {
		if strings.HasSuffix(e.Host, ".dup-planted.net") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("both copies must be read: %+v", app.Endpoints)
	}
}

func TestHostileEntries(t *testing.T) {
	dex := androidtest.Dex([]string{"https://ok.hostile-planted.net"})
	bad := bytes.Clone(dex)
	copy(bad[56:], []byte{0xff, 0xff, 0xff, 0x0f}) // a quarter billion strings
	b := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.hostile", false), false},
		entry{"classes.dex", bad, false},
		entry{"classes2.dex", dex, false},
		entry{"resources.arsc", []byte("\x02\x00\x0c\x00\xff\xff\xff\x7f\x01\x00\x00\x00"), false},
		entry{"res/xml/bad.xml", []byte("\x03\x00\x08\x00\xff\xff\xff\xff"), false},
		entry{"Payload/evil", append([]byte("\xcf\xfa\xed\xfe\x0c\x00\x00\x01\x00\x00\x00\x00\x02\x00\x00\x00\xff\xff\x00\x00\xff\xff\xff\x7f"), make([]byte, 64)...), false})
	app := readApp(t, b, "hostile.apk")
	for _, w := range []string{"classes.dex: dex:", "resources.arsc: resource table", "bad.xml: binary XML", "evil: mach-o"} {
		wantError(t, app.Errors, w)
	}
	if !slices.ContainsFunc(app.Endpoints, func(e gown.Endpoint) bool { return e.Host == "ok.hostile-planted.net" }) {
		t.Errorf("the good dex must still be read: %+v", app.Endpoints)
	}
}

func TestNotAnApp(t *testing.T) {
	wantError(t, errorsOf(t, []byte("just some text, not a zip"), Config{Catalog: catalog}, "x.apk"), "not an app archive")
	b := zipOf(t, entry{"readme.txt", []byte("hi"), false})
	wantError(t, errorsOf(t, b, Config{Catalog: catalog}, "x.zip"), "no AndroidManifest.xml")
}

func TestCancelStops(t *testing.T) {
	b, _ := plantedAPK(t, true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	x, _ := New(Config{Catalog: catalog})
	app := x.Read(ctx, bytes.NewReader(b), int64(len(b)), "c.apk")
	wantError(t, app.Errors, "context canceled")
}

// A lying header: the central directory says 10 bytes, the data inflates
// to far more. archive/zip must stop at the declared size.
func TestLyingSize(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("AndroidManifest.xml")
	w.Write(plantedManifest("com.lie", false))
	w, _ = zw.CreateRaw(&zip.FileHeader{Name: "assets/lie", Method: zip.Store, CompressedSize64: 4096, UncompressedSize64: 10})
	w.Write(bytes.Repeat([]byte("A"), 4096))
	zw.Close()
	wantError(t, errorsOf(t, buf.Bytes(), Config{Catalog: catalog}, "lie.apk"), "lie.apk!assets/lie: "+zip.ErrFormat.Error())
}

// The same lies in deflated entries, which gown inflates itself: a stream
// longer than declared, one shorter, and one whose CRC does not match.
func TestLyingSizeDeflated(t *testing.T) {
	data := bytes.Repeat([]byte("https://lie.example.net/ "), 400)
	var z bytes.Buffer
	fw, _ := flate.NewWriter(&z, flate.DefaultCompression)
	fw.Write(data)
	fw.Close()
	for name, c := range map[string]struct {
		size uint64
		crc  uint32
		want string
	}{
		"long":  {10, crc32.ChecksumIEEE(data), "more bytes than the header's 10"},
		"short": {uint64(len(data)) + 5, crc32.ChecksumIEEE(data), "fewer bytes than the header's"},
		"crc":   {uint64(len(data)), crc32.ChecksumIEEE(data) ^ 1, zip.ErrChecksum.Error()},
	} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("AndroidManifest.xml")
		w.Write(plantedManifest("com.lie", false))
		w, _ = zw.CreateRaw(&zip.FileHeader{Name: "assets/lie.txt", Method: zip.Deflate, CRC32: c.crc,
			CompressedSize64: uint64(z.Len()), UncompressedSize64: c.size})
		w.Write(z.Bytes())
		zw.Close()
		errs := errorsOf(t, buf.Bytes(), Config{Catalog: catalog}, name+".apk")
		wantError(t, errs, name+".apk!assets/lie.txt: "+c.want)
	}
}

// bigDex returns a dex past dexStreamMin holding planted among filler
// strings, so that it is scanned while it inflates.
func bigDex(planted string) []byte {
	strs := []string{planted}
	for i := 0; len(strs) < 40000; i++ {
		strs = append(strs, fmt.Sprintf("Lcom/shop/filler/Class%05d;", i))
	}
	return androidtest.Dex(strs)
}

func TestBigDexScannedWhileInflating(t *testing.T) {
	dex := bigDex("https://big.dex-planted.net/v1")
	if len(dex) < dexStreamMin {
		t.Fatalf("dex of %d bytes does not reach the streaming size %d", len(dex), dexStreamMin)
	}
	for _, stored := range []bool{false, true} { // inflated by gown, or read by archive/zip
		b := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.big", false), false}, entry{"classes.dex", dex, stored})
		app := readApp(t, b, "big.apk")
		if len(app.Errors) > 0 {
			t.Errorf("stored %v: errors: %q", stored, app.Errors)
		}
		i := slices.IndexFunc(app.Endpoints, func(e gown.Endpoint) bool { return e.Value == "https://big.dex-planted.net/v1" })
		if i < 0 {
			t.Fatalf("stored %v: planted endpoint not found: %+v", stored, app.Endpoints)
		}
		if s := app.Endpoints[i].Sources[0]; s.Entry != "classes.dex" || s.Section != "dex string table" ||
			string(dex[s.Offset:s.Offset+int64(len("https://big.dex-planted.net/v1"))]) != "https://big.dex-planted.net/v1" {
			t.Errorf("stored %v: source %+v does not point at the string", stored, s)
		}
	}
}

// A big dex whose data fails its CRC, or is cut short, while its strings
// are being scanned: the entry is an error, its strings are dropped, and
// nothing waits forever.
func TestBigDexBrokenWhileInflating(t *testing.T) {
	dex := bigDex("https://broken.dex-planted.net/v1")
	good := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.broken", false), false}, entry{"classes.dex", dex, false})
	badCRC := bytes.Clone(good)
	cd := bytes.LastIndex(badCRC, []byte("PK\x01\x02")) // the last central directory record: classes.dex
	badCRC[cd+16] ^= 0xff
	var short bytes.Buffer
	zw := zip.NewWriter(&short)
	w, _ := zw.Create("AndroidManifest.xml")
	w.Write(plantedManifest("com.broken", false))
	w, _ = zw.CreateRaw(&zip.FileHeader{Name: "classes.dex", Method: zip.Store, CompressedSize64: uint64(len(dex) / 2), UncompressedSize64: uint64(len(dex))})
	w.Write(dex[:len(dex)/2])
	zw.Close()
	for name, b := range map[string][]byte{"bad CRC": badCRC, "short": short.Bytes()} {
		app := readApp(t, b, "broken.apk")
		wantError(t, app.Errors, "broken.apk!classes.dex")
		for _, e := range app.Endpoints {
			if strings.Contains(e.Host, "dex-planted") {
				t.Errorf("%s: endpoint kept from a broken entry: %s", name, e.Value)
			}
		}
	}
}
