package scan_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/store/sqlite"
)

// TestBeginCutsCredentials: a scan's arguments are stored with every URL
// cut to its scheme, host and port, whatever entry point began it: the
// bytes of the database file and its WAL hold none of the user info, path
// or query, and the caller's config is not changed. (The store cuts on
// read too, for scans stored before: only the file tells what was
// written.)
func TestBeginCutsCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gown.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config(st)
	cfg.Meta.Args = []string{"--source", "127.0.0.2", "redis://:s3cretpass@127.0.0.1:6379", "mongodb://mongouser:m0ngopw@db.example.test/admin?authSource=admin"}
	s, err := scan.Begin(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	var file []byte
	for _, suffix := range []string{"", "-wal"} {
		b, _ := os.ReadFile(path + suffix)
		file = append(file, b...)
	}
	st.Close()
	if !bytes.Contains(file, []byte(`"redis://127.0.0.1:6379","mongodb://db.example.test"`)) {
		t.Errorf("the database file lacks the cut arguments")
	}
	for _, secret := range []string{"s3cretpass", "mongouser", "m0ngopw", "authSource"} {
		if bytes.Contains(file, []byte(secret)) {
			t.Errorf("the database file holds %q", secret)
		}
	}
	if cfg.Meta.Args[2] != "redis://:s3cretpass@127.0.0.1:6379" {
		t.Errorf("Begin changed the caller's args: %q", cfg.Meta.Args)
	}
}
