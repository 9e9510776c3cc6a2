// Package progress draws one status line on a terminal while a long scan
// runs: targets done of the total, open stores found, rate and time left.
// It draws nothing when the writer is not a terminal, so logs and CI output
// stay clean.
package progress

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// IsTerminal reports whether w is a terminal (a character device answering
// the terminal ioctl).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Width returns the columns of the terminal w is, or 0 when w is not a
// terminal. A terminal that reports no size counts as $COLUMNS, else 80.
func Width(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok || !IsTerminal(w) {
		return 0
	}
	if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 {
		return int(ws.Col)
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}

// Bar counts work and redraws its line every Interval. The counting methods
// are safe for concurrent use and cost one atomic add each.
type Bar struct {
	w        io.Writer
	label    string
	noun     string // what the second counter counts: "open"
	interval time.Duration
	now      func() time.Time

	total atomic.Int64 // 0 while unknown
	done  atomic.Int64
	open  atomic.Int64

	start    time.Time
	mu       sync.Mutex // guards drawing and width
	width    int        // length of the last line drawn, for clearing
	stop     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
}

// New returns a bar that draws on w, or nil when w is not a terminal: every
// method of a nil *Bar does nothing, so callers need no checks.
func New(w io.Writer, label string) *Bar {
	if !IsTerminal(w) {
		return nil
	}
	return newBar(w, label, 200*time.Millisecond, time.Now)
}

// newBar builds a bar without the terminal check (tests draw on buffers with
// a fake clock).
func newBar(w io.Writer, label string, interval time.Duration, now func() time.Time) *Bar {
	return &Bar{w: w, label: label, noun: "open", interval: interval, now: now, start: now(),
		stop: make(chan struct{}), stopped: make(chan struct{})}
}

// Counting names what Done(true) counts, "open" unless set: a run over
// apps counts "with back ends". Call it before Start; it returns b.
func (b *Bar) Counting(noun string) *Bar {
	if b != nil {
		b.noun = noun
	}
	return b
}

// SetTotal sets the number of targets once it is known.
func (b *Bar) SetTotal(n int64) {
	if b != nil {
		b.total.Store(n)
	}
}

// Done counts one finished target (or app); open says it was an open
// store (or what Counting named).
func (b *Bar) Done(open bool) {
	if b == nil {
		return
	}
	b.done.Add(1)
	if open {
		b.open.Add(1)
	}
}

// Start redraws the line every interval until Stop.
func (b *Bar) Start() {
	if b == nil {
		return
	}
	go func() {
		defer close(b.stopped)
		tick := time.NewTicker(b.interval)
		defer tick.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-tick.C:
				b.Draw()
			}
		}
	}()
}

// Stop ends the redrawing and clears the line, leaving the terminal as it
// was. Safe to call more than once and without Start.
func (b *Bar) Stop() {
	if b == nil {
		return
	}
	b.stopOnce.Do(func() {
		close(b.stop)
		select {
		case <-b.stopped:
		case <-time.After(time.Second):
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.width > 0 {
			fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", b.width))
			b.width = 0
		}
	})
}

// Clear wipes the line so that other output (a result line on the same
// terminal) can be printed; the next Draw puts it back.
func (b *Bar) Clear() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.width > 0 {
		fmt.Fprintf(b.w, "\r%s\r", strings.Repeat(" ", b.width))
		b.width = 0
	}
}

// Draw writes the current line now.
func (b *Bar) Draw() {
	if b == nil {
		return
	}
	line := b.Line()
	b.mu.Lock()
	defer b.mu.Unlock()
	pad := ""
	if n := b.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(b.w, "\r%s%s", line, pad)
	b.width = len(line)
}

// Line renders the status: "scan 1,200/10,000 12% · 3 open · 850/s · ETA 11s";
// without a total, "scan 1,200 · 3 open · 850/s".
func (b *Bar) Line() string {
	done, total, open := b.done.Load(), b.total.Load(), b.open.Load()
	elapsed := b.now().Sub(b.start)
	var sb strings.Builder
	sb.WriteString(b.label)
	sb.WriteByte(' ')
	sb.WriteString(group(done))
	if total > 0 {
		fmt.Fprintf(&sb, "/%s %d%%", group(total), done*100/max(total, 1))
	}
	fmt.Fprintf(&sb, " · %s %s", group(open), b.noun)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	switch {
	case rate == 0:
		sb.WriteString(" · 0/s")
	case rate < 10: // slow work (apps take seconds each) keeps a decimal
		fmt.Fprintf(&sb, " · %.1f/s", rate)
	default:
		fmt.Fprintf(&sb, " · %s/s", group(int64(math.Round(rate))))
	}
	if total > 0 && rate > 0 && done < total {
		// Whole seconds, rounded up: "ETA 0s" with work left would be a lie.
		eta := time.Duration(math.Ceil(float64(total-done)/rate)) * time.Second
		fmt.Fprintf(&sb, " · ETA %s", eta)
	}
	return sb.String()
}

// group writes n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 || len(s) <= 3 {
		return s
	}
	var sb strings.Builder
	lead := len(s) % 3
	if lead > 0 {
		sb.WriteString(s[:lead])
	}
	for i := lead; i < len(s); i += 3 {
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(s[i : i+3])
	}
	return sb.String()
}

// Writer wraps w, the stream results go to, so that each write first blanks
// the status line and the line is redrawn below it on the next tick: results
// and the bar share a terminal without garbling. It returns w itself for a
// nil bar.
func (b *Bar) Writer(w io.Writer) io.Writer {
	if b == nil {
		return w
	}
	return &above{b: b, w: w}
}

type above struct {
	b *Bar
	w io.Writer
}

func (a *above) Write(p []byte) (int, error) {
	a.b.mu.Lock()
	defer a.b.mu.Unlock()
	if a.b.width > 0 {
		fmt.Fprintf(a.b.w, "\r%s\r", strings.Repeat(" ", a.b.width))
		a.b.width = 0
	}
	return a.w.Write(p)
}
