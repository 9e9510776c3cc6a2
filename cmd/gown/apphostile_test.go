package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/android/androidtest"
)

// evil is what a crafted app writes where a name goes: an OSC that retitles
// the terminal, a CSI that clears it, a C1 CSI, a right-to-left override
// and an invalid UTF-8 byte.
const evil = "\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\xff"

// writeEvilAPK writes an APK whose file name, package, version, entry
// names and dex strings hold evil, with a URL and an API key in an asset
// named with it and a broken binary XML, also so named, for an error.
func writeEvilAPK(t *testing.T, dir string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{
		{"AndroidManifest.xml", androidtest.XML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{
			{Name: "package", Str: "com.evil" + evil}, {Name: "versionName", Str: "1.0" + evil, ResID: 0x0101021c}}})},
		{"classes.dex", androidtest.Dex([]string{"https://api.evil-gown.net/" + evil, "Lcom/evil/" + evil + ";"})},
		{"assets/" + evil + "cfg.json", []byte(`{"u":"https://cfg.evil-gown.net/v1","k":"AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"}`)},
		{"res/xml/" + evil + ".xml", []byte("\x03\x00\x08\x00\xff\xff\xff\xff")},
	} {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "evil"+evil+".apk")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// terminalUnsafe says what in b could drive a terminal or reorder what it
// shows: ESC, BEL and the other C0 controls but newline and tab, DEL, C1
// controls, bidi and line-separator characters, invalid UTF-8.
func terminalUnsafe(b []byte) string {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			return fmt.Sprintf("invalid UTF-8 byte %#x at %d", b[i], i)
		case r < 0x20 && r != '\n' && r != '\t', r == 0x7f, r >= 0x80 && r <= 0x9f:
			return fmt.Sprintf("control %U at %d", r, i)
		case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x2028, r == 0x2029:
			return fmt.Sprintf("format character %U at %d", r, i)
		}
		i += n
	}
	return ""
}

// TestAppHostileNames is issue h21 item 1 for gown app: an APK whose file
// name, package, version, entry names and strings hold terminal escapes,
// read from a directory, and a FIFO named like it given outright. No ESC,
// BEL, C1, bidi or invalid UTF-8 byte reaches stdout or stderr, in text
// or JSON; each shows as a visible escape, and the app's findings stand.
func TestAppHostileNames(t *testing.T) {
	dir := t.TempDir()
	writeEvilAPK(t, dir)
	fifo := filepath.Join(t.TempDir(), "pipe"+evil+".apk")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"text", "json"} {
		t.Run(mode, func(t *testing.T) {
			args := []string{"app", dir, fifo, "--extract-only", "--db", filepath.Join(t.TempDir(), "g.db")}
			if mode == "json" {
				args = append(args, "--json")
			}
			var out, errb bytes.Buffer
			code := run(t.Context(), args, nil, &out, &errb)
			t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
			if code != exitOK {
				t.Fatalf("exit %d", code)
			}
			for name, b := range map[string][]byte{"stdout": out.Bytes(), "stderr": errb.Bytes()} {
				if why := terminalUnsafe(b); why != "" {
					t.Errorf("%s: %s", name, why)
				}
			}
			shown := out.String()
			if mode == "json" {
				var app gown.App
				if err := json.NewDecoder(&out).Decode(&app); err != nil {
					t.Fatal(err)
				}
				shown = fmt.Sprintf("%+v", app)
			}
			for _, w := range []string{`evil\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\xff.apk`, `com.evil\x1b]0;pwned`, `1.0\x1b]0;pwned`,
				`assets/\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\xffcfg.json`, `res/xml/\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\xff.xml: binary XML`,
				"https://cfg.evil-gown.net/v1", "AIza…[REDACTED]"} {
				if !strings.Contains(shown, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if w := `pipe\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\xff.apk: a named pipe (FIFO)`; !strings.Contains(errb.String(), w) {
				t.Errorf("stderr lacks %q", w)
			}
		})
	}
}

// TestAppFIFO is issue h21 item 6: gown app given a FIFO, and a directory
// holding another FIFO named like an app, returns at once; the FIFO named
// outright gets its own error, the one in the directory is skipped, and
// the good app in the batch is read.
func TestAppFIFO(t *testing.T) {
	dir := t.TempDir()
	good := writeAPK(t, dir, "good.apk", "https://api.good-gown.net/v1")
	if err := syscall.Mkfifo(filepath.Join(dir, "walked.apk"), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "named.apk")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	start := time.Now()
	go func() {
		done <- run(t.Context(), []string{"app", fifo, dir, "--extract-only", "--db", filepath.Join(t.TempDir(), "g.db")}, nil, &out, &errb)
	}()
	select {
	case code := <-done:
		t.Logf("exit %d in %v\nstdout:\n%s\nstderr:\n%s", code, time.Since(start), out.String(), errb.String())
		if code != exitOK {
			t.Errorf("exit %d, want %d", code, exitOK)
		}
	case <-time.After(30 * time.Second):
		for _, f := range []string{fifo, filepath.Join(dir, "walked.apk")} { // free the blocked open: a writer comes
			if w, err := os.OpenFile(f, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
		}
		<-done
		t.Fatal("gown app blocked on a FIFO for 30 s")
	}
	if want := "gown: " + fifo + ": a named pipe (FIFO): not a regular file: not read"; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr lacks %q", want)
	}
	if strings.Contains(out.String()+errb.String(), "walked.apk") {
		t.Error("the FIFO in the directory was not skipped")
	}
	if !strings.Contains(out.String(), "app "+good) || !strings.Contains(out.String(), "https://api.good-gown.net/v1") {
		t.Error("the good app was not read")
	}
}

// TestAppEmptyDir is issue h21 item 7 on the app side: a directory with no
// app (empty, or holding only other files and a FIFO named like an app)
// gets its own message and exit code 2, not the scan's "no targets"; next
// to an app, it gets a note and the app is read.
func TestAppEmptyDir(t *testing.T) {
	empty := t.TempDir()
	others := t.TempDir()
	os.WriteFile(filepath.Join(others, "notes.txt"), []byte("not an app"), 0o644)
	if err := syscall.Mkfifo(filepath.Join(others, "x.apk"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{empty}, {others}, {empty, others, "--extract-only"}} {
		var out, errb bytes.Buffer
		code := run(t.Context(), append([]string{"app"}, args...), nil, &out, &errb)
		want := "gown: no APK, XAPK, APKS, AAB or IPA files in " + strings.Join(slicesNotFlags(args), ", ") + "\n"
		if code != exitUsage || errb.String() != want || out.Len() > 0 {
			t.Errorf("gown app %q: exit %d, stderr %q, stdout %q; want exit %d, stderr %q", args, code, errb.String(), out.String(), exitUsage, want)
		}
		err := cmdApp(t.Context(), args, stdio{out: &out, err: &errb})
		if ue := (usageError{}); !errors.As(err, &ue) {
			t.Errorf("gown app %q: err %v, want a usage error", args, err)
		}
	}

	good := writeAPK(t, t.TempDir(), "g.apk", "https://api.g-gown.net/v1")
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"app", empty, good, "--extract-only", "--db", filepath.Join(t.TempDir(), "g.db")}, nil, &out, &errb)
	if code != exitOK || !strings.Contains(errb.String(), "gown: no APK, XAPK, APKS, AAB or IPA files in "+empty+"\n") ||
		!strings.Contains(out.String(), "https://api.g-gown.net/v1") {
		t.Errorf("empty dir beside an app: exit %d\nstdout %s\nstderr %s", code, out.String(), errb.String())
	}
}

// slicesNotFlags returns the arguments that are not flags.
func slicesNotFlags(args []string) []string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			out = append(out, a)
		}
	}
	return out
}
