package progress

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// clock is a fake clock the test moves by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLine(t *testing.T) {
	c := &clock{t: time.Unix(1_000_000, 0)}
	b := newBar(&bytes.Buffer{}, "scan", time.Hour, c.now)
	if got, want := b.Line(), "scan 0 · 0 open · 0/s"; got != want {
		t.Fatalf("empty: %q, want %q", got, want)
	}
	for i := range 1500 {
		b.Done(i%500 == 0)
	}
	c.add(2 * time.Second)
	if got, want := b.Line(), "scan 1,500 · 3 open · 750/s"; got != want {
		t.Fatalf("unknown total: %q, want %q", got, want)
	}
	b.SetTotal(12_000)
	if got, want := b.Line(), "scan 1,500/12,000 12% · 3 open · 750/s · ETA 14s"; got != want {
		t.Fatalf("known total: %q, want %q", got, want)
	}
	for range 10_499 {
		b.Done(false)
	}
	// One left at 6,000/s: the ETA rounds up, never to "0s".
	if got, want := b.Line(), "scan 11,999/12,000 99% · 3 open · 6,000/s · ETA 1s"; got != want {
		t.Fatalf("almost done: %q, want %q", got, want)
	}
	b.Done(false)
	if got := b.Line(); strings.Contains(got, "ETA") || !strings.Contains(got, "12,000/12,000 100%") {
		t.Fatalf("finished: %q", got)
	}
}

// TestCountingSlowWork: a bar over apps names its counter and keeps a
// decimal of a rate below ten a second.
func TestCountingSlowWork(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	b := newBar(&bytes.Buffer{}, "apps", time.Hour, c.now).Counting("with back ends")
	b.SetTotal(10)
	b.Done(true)
	b.Done(false)
	c.add(5 * time.Second)
	if got, want := b.Line(), "apps 2/10 20% · 1 with back ends · 0.4/s · ETA 20s"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	var nilBar *Bar
	if nilBar.Counting("x") != nil {
		t.Fatal("Counting on a nil bar must stay nil")
	}
}

func TestDrawAndClear(t *testing.T) {
	var buf bytes.Buffer
	c := &clock{t: time.Unix(0, 0)}
	b := newBar(&buf, "app", time.Hour, c.now)
	b.SetTotal(1_000_000)
	b.Draw()
	first := buf.String()
	if !strings.HasPrefix(first, "\rapp 0/1,000,000 0%") {
		t.Fatalf("draw: %q", first)
	}
	buf.Reset()
	b.Stop()
	if got := buf.String(); got != "\r"+strings.Repeat(" ", len(first)-1)+"\r" {
		t.Fatalf("stop must blank the line: %q", got)
	}
	buf.Reset()
	b.Stop()
	if buf.Len() != 0 {
		t.Fatalf("second Stop wrote %q", buf.String())
	}
}

func TestTickerRedraws(t *testing.T) {
	var mu sync.Mutex
	var buf bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(p) })
	b := newBar(w, "scan", time.Millisecond, time.Now)
	b.Start()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				b.Done(true)
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		s := buf.String()
		mu.Unlock()
		if strings.Contains(s, "8,000 · 8,000 open") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no redraw with the final count; got %q", s)
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Stop()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestNilBarAndNonTerminal(t *testing.T) {
	var b *Bar
	b.SetTotal(3)
	b.Done(true)
	b.Start()
	b.Draw()
	b.Clear()
	b.Stop()
	if New(&bytes.Buffer{}, "x") != nil {
		t.Fatal("a buffer is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Fatal("a regular file is not a terminal")
	}
}

func TestWriterClearsLineFirst(t *testing.T) {
	var term bytes.Buffer // the one terminal both streams reach
	b := newBar(&term, "scan", time.Hour, time.Now)
	b.Draw()
	drawn := term.Len()
	out := b.Writer(&term)
	if _, err := out.Write([]byte("result line\n")); err != nil {
		t.Fatal(err)
	}
	want := "\r" + strings.Repeat(" ", drawn-1) + "\rresult line\n"
	if got := term.String()[drawn:]; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	var nilBar *Bar
	if w := nilBar.Writer(&term); w != &term {
		t.Fatal("a nil bar must hand back the writer itself")
	}
}

// TestIsTerminalOnPTY: both sides of a pseudo-terminal answer the terminal
// ioctl, as the stderr of an interactive shell does, and a bar drawn on the
// terminal side reaches the other. Without a pty (no devpts) it skips on a
// developer's machine and fails in CI (CI=true).
func TestIsTerminalOnPTY(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no pty: %v", err)
		}
		t.Skipf("no pty here (set CI=true to fail instead): %v", err)
	}
	defer master.Close()
	defer slave.Close()
	if !IsTerminal(master) || !IsTerminal(slave) {
		t.Fatalf("a pty is a terminal: master %v, slave %v", IsTerminal(master), IsTerminal(slave))
	}
	b := New(slave, "scan")
	if b == nil {
		t.Fatal("New must draw on a terminal")
	}
	b.SetTotal(4)
	b.Done(true)
	b.Draw()
	// The line discipline passes \r through: the bytes drawn are the bytes read.
	want := "\rscan 1/4 25% · 1 open"
	got := make([]byte, 0, 128)
	buf := make([]byte, 128)
	if err := master.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatalf("read deadline on the pty: %v", err)
	}
	for !strings.Contains(string(got), want) {
		n, err := master.Read(buf)
		if err != nil {
			t.Fatalf("read the terminal: %v (so far %q, want %q)", err, got, want)
		}
		got = append(got, buf[:n]...)
	}
}
