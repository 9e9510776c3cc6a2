// Package extract reads Android and iOS apps (APK, XAPK, APKS, AAB, IPA)
// straight from their archives, in memory, and returns the back ends they
// name: typed endpoint candidates with every place each was found, the
// credentials hard-coded beside them, and the clear-text transport the app's
// policy allows. It never decompiles, never writes the app to disk and never
// opens a socket.
//
// An app is hostile input: every archive and format reader works under caps
// (entries, sizes, ratio, nesting depth) and bounds checks, and a broken part
// becomes an error on the app while the rest is still read.
package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract/rules"
)

// Config holds the table of schemes and the safety caps of extraction. Zero
// caps take defaults.
type Config struct {
	// Catalog is the table of URL schemes and store host names that gives an
	// endpoint its store, default port and TLS (all.Catalog() in gown). It
	// is plain data: extraction never probes.
	Catalog *gown.Catalog
	// MaxEntries caps the entries of one archive.
	MaxEntries int
	// MaxEntrySize caps one entry's uncompressed size (entries are read into
	// memory whole).
	MaxEntrySize int64
	// MaxTotal caps the uncompressed bytes read from one app, nested
	// archives included.
	MaxTotal int64
	// MaxRatio caps the compression ratio of entries above 1 MiB: a zip
	// bomb's ratio runs to thousands, real app entries to tens.
	MaxRatio int64
	// MaxDepth caps archive nesting: 1 lets an XAPK hold APKs, 2 lets those
	// hold a jar.
	MaxDepth int
	// MaxEndpoints caps the distinct endpoints kept per app.
	MaxEndpoints int
	// FlowLargeDex follows the bytecode of dex files of 1 MiB and more too,
	// for the endpoints they build at run time (android.DexBuilt). Such a
	// dex is then read whole instead of scanned as it inflates, and the
	// flow costs about as much as the rest of the extraction
	// (BENCHMARKS.md); dex files below 1 MiB are always followed.
	FlowLargeDex bool
	// Reading, when set, is called once per app, by the worker that starts
	// on its first entry: a caller with CPU work of its own to start beside
	// the extraction (gown app opens its results store) starts it then,
	// so that the work does not hold a core before the app's first and
	// usually longest entry (its classes.dex) is being inflated.
	Reading func()
}

// Validate fills in defaults and rejects negative caps and a missing
// catalog.
func (c *Config) Validate() error {
	if c.Catalog == nil {
		return errors.New("extract: no catalog of schemes")
	}
	if c.MaxEntries < 0 || c.MaxEntrySize < 0 || c.MaxTotal < 0 || c.MaxRatio < 0 || c.MaxDepth < 0 || c.MaxEndpoints < 0 {
		return errors.New("extract: caps must not be negative")
	}
	def := func(v *int64, d int64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxEntrySize, 256<<20)
	def(&c.MaxTotal, 2<<30)
	def(&c.MaxRatio, 200)
	if c.MaxEntries == 0 {
		c.MaxEntries = 100000
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = 2
	}
	if c.MaxEndpoints == 0 {
		c.MaxEndpoints = 20000
	}
	return nil
}

// Extractor reads apps. It is safe for concurrent use: each call has its
// own state.
type Extractor struct {
	cfg     Config
	rules   []*rules.Rule
	parties *Parties
}

// New builds an extractor with the embedded rules and party lists.
func New(cfg Config) (*Extractor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Extractor{cfg: cfg, rules: rules.All(), parties: NewParties()}, nil
}

// File reads the app at path. Problems with the app land in App.Errors; the
// error return is for a file that cannot be read as an app at all: missing,
// unreadable, or not a regular file (ErrNotRegular: a FIFO, a device, a
// socket, a directory).
//
// The file's type is checked before it is opened: open() on a FIFO waits
// for a writer, in the kernel, where no signal ends the wait, and opening a
// device may act on it. The open itself does not wait either (O_NONBLOCK,
// which changes nothing for a regular file), in case the path was swapped
// between the two, and the type is checked again on what was opened. Every
// read of the file then sees ctx (see ctxReaderAt).
func (x *Extractor) File(ctx context.Context, path string) (*gown.App, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, notRegular(path, st.Mode())
	}
	return x.Read(ctx, ctxReaderAt{ctx, f}, st.Size(), path), nil
}

// notRegular names what path is instead of a regular file.
func notRegular(path string, m fs.FileMode) error {
	what := "not a regular file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeDevice != 0:
		what = "a device"
	case m.IsDir():
		what = "a directory"
	}
	return fmt.Errorf("%s: %s: %w", path, what, ErrNotRegular)
}

// ctxReaderAt fails every read once ctx is done: an app on a slow or hung
// file system stops being read at the next read after Ctrl-C, whichever
// entry reader is reading it.
type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}

// Read reads an app from r. name labels the app and its sources. The
// entries of each archive are read in parallel, on up to GOMAXPROCS
// goroutines, with the bytes held in memory at once bounded by the largest
// entry (see readAll); the result does not depend on the parallelism.
func (x *Extractor) Read(ctx context.Context, r io.ReaderAt, size int64, name string) *gown.App {
	s := newAppScan(x, name)
	s.run(ctx, r, size)
	return s.finish()
}
