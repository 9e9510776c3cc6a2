package xamarin

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// xalz wraps an LZ4 block as Xamarin.Android writes a compressed assembly.
func xalz(block []byte, size int) []byte {
	b := []byte(Magic)
	b = binary.LittleEndian.AppendUint32(b, 7)
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	return append(b, block...)
}

// lz4Frame runs the real lz4 (Debian lz4, scripts/install-deps.sh) over
// data and returns the one block of its frame. Without lz4 the test
// skips, except in CI.
func lz4Frame(t *testing.T, data []byte) []byte {
	t.Helper()
	lz4, err := exec.LookPath("lz4")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("lz4 not installed in CI: %v", err)
		}
		t.Skipf("lz4 not installed: %v", err)
	}
	cmd := exec.CommandContext(t.Context(), lz4, "-q", "-c", "--no-frame-crc")
	cmd.Stdin = bytes.NewReader(data)
	f, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	// Frame: magic, FLG, BD, [content size], [dictionary id], HC, then
	// blocks of a u32 size (high bit: stored) and data (lz4.org frame format).
	if len(f) < 11 || !bytes.Equal(f[:4], []byte("\x04\x22\x4d\x18")) {
		t.Fatalf("lz4 wrote no frame: % x", f[:min(len(f), 16)])
	}
	i := 6
	if f[4]&0x08 != 0 {
		i += 8
	}
	if f[4]&0x01 != 0 {
		i += 4
	}
	i++
	n := binary.LittleEndian.Uint32(f[i:])
	if n&0x80000000 != 0 {
		t.Fatal("lz4 stored the data uncompressed")
	}
	return f[i+4 : i+4+int(n)]
}

// TestDecompress: an assembly compressed by the real lz4 and wrapped as
// XALZ comes back byte for byte, as does the committed testdata file (the
// fuzz seed and the assembly the extract tests plant).
func TestDecompress(t *testing.T) {
	dll, err := os.ReadFile(filepath.Join("testdata", "Northwind.dll"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("testdata", "Northwind.dll.xalz"))
	if err != nil {
		t.Fatal(err)
	}
	for name, x := range map[string][]byte{"committed": committed, "lz4 now": xalz(lz4Frame(t, dll), len(dll))} {
		got, used, err := Decompress(x, 1<<20)
		if err != nil || !bytes.Equal(got, dll) || used != len(x) {
			t.Errorf("%s: %d bytes, used %d of %d, err %v", name, len(got), used, len(x), err)
		}
	}
	if _, _, err := Decompress(committed, 100); err == nil {
		t.Error("an assembly over the cap was decompressed")
	}
	// In a store: found after other bytes, twice.
	store := append(append(append([]byte(BlobMagic+"\x01\x00\x00\x00"), committed...), "pad"...), committed...)
	n := 0
	if err := Each(store, 1<<20, 10, func(off int, asm []byte) bool {
		n++
		return bytes.Equal(asm, dll)
	}); err != nil || n != 2 {
		t.Errorf("store: %d assemblies, err %v", n, err)
	}
}

// FuzzXALZ: any input is refused or inflates to exactly its declared
// size, within the cap. Seeds: testdata/Northwind.dll.xalz and
// testdata/fuzz/FuzzXALZ.
func FuzzXALZ(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "Northwind.dll.xalz")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, used, err := Decompress(b, 1<<16)
		if err != nil {
			return
		}
		if len(out) != int(binary.LittleEndian.Uint32(b[8:])) || len(out) > 1<<16 || used > len(b) {
			t.Fatalf("%d bytes out, used %d of %d", len(out), used, len(b))
		}
	})
}
