package extract

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFileNotRegular is issue h21 item 6 in the extractor: a FIFO (which
// blocked open() until a writer came, Ctrl-C or not), a socket, a device
// and a directory each give ErrNotRegular at once, naming what they are;
// nothing is opened.
func TestFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "app.apk")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.apk")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	x, err := New(Config{Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{fifo: "a named pipe (FIFO)", sock: "a socket", os.DevNull: "a device", dir: "a directory"} {
		done := make(chan error, 1)
		go func() {
			_, err := x.File(t.Context(), path)
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: err = %v, want ErrNotRegular naming %q", path, err, want)
			}
			t.Logf("%v", err)
		case <-time.After(30 * time.Second):
			// Free the blocked open so the test ends: a writer comes.
			if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			t.Fatalf("%s: File still blocked after 30 s", path)
		}
	}
}

// TestFileOpenDoesNotWait: File's open, for a path that was a regular file
// when checked and is a FIFO when opened (the race it guards against),
// returns at once, and what was opened is seen to be no regular file.
func TestFileOpenDoesNotWait(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "app.apk")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	f, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Mode().IsRegular() || time.Since(start) > time.Second {
		t.Errorf("open of a FIFO with O_NONBLOCK: %v, %v, %v", st.Mode(), err, time.Since(start))
	}
	err = notRegular(fifo, st.Mode())
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "FIFO") {
		t.Errorf("err = %v", err)
	}
}

// TestFileReadsSeeCancel: once ctx is done, reading an app stops at the
// next read of the file.
func TestFileReadsSeeCancel(t *testing.T) {
	b, _ := plantedAPK(t, false)
	p := filepath.Join(t.TempDir(), "shop.apk")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	x, err := New(Config{Catalog: catalog})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	app, err := x.File(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, app.Errors, "context canceled")
	if len(app.Endpoints) > 0 {
		t.Errorf("read on after the cancel: %+v", app.Endpoints)
	}
	app, err = x.File(t.Context(), p)
	if err != nil || len(app.Endpoints) == 0 || len(app.Errors) > 0 {
		t.Errorf("uncancelled read: %v, %+v", err, app)
	}
}
