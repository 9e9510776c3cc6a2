package unity

import (
	"slices"
	"testing"

	"github.com/gownscan/gown/extract/unity/unitytest"
)

// TestLiterals: literals run together in the data come back whole, each
// at its offset.
func TestLiterals(t *testing.T) {
	lits := []string{"https://api.northwind-game.com/v1/score", "wss://lobby.northwind-game.com/socket", "Player", "mongodb://stats.northwind-game.com:27017/game"}
	b := unitytest.Metadata(lits)
	var got []string
	if err := Literals(b, func(off int, s []byte) bool {
		if string(b[off:off+len(s)]) != string(s) {
			t.Errorf("%q not at %d", s, off)
		}
		got = append(got, string(s))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, lits) {
		t.Errorf("literals %q, want %q", got, lits)
	}
	b[4] = 99
	if err := Literals(b, func(int, []byte) bool { return true }); err == nil {
		t.Error("version 99 read")
	}
}

// FuzzLiterals: any input is refused or gives literals inside the file.
// Seeds: a written file and testdata/fuzz/FuzzLiterals.
func FuzzLiterals(f *testing.F) {
	f.Add(unitytest.Metadata([]string{"https://a.example.net", "b"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = Literals(b, func(off int, s []byte) bool {
			if off < 0 || off+len(s) > len(b) {
				t.Fatalf("literal at %d (%d bytes) outside %d bytes", off, len(s), len(b))
			}
			return true
		})
	})
}
