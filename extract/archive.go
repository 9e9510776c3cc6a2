package extract

import (
	"archive/zip"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/gownscan/gown/extract/android"
	"github.com/gownscan/gown/extract/internal/inflate"
)

// Errors of the archive walker; each names the cap that stopped it.
var (
	// ErrNotRegular means a path names a FIFO, a device, a socket or a
	// directory, which Extractor.File does not open.
	ErrNotRegular = errors.New("not a regular file: not read")
	// ErrCap means an archive exceeded one of Config's limits.
	ErrCap = errors.New("over a safety cap")
	// ErrNotApp means the file is not an archive gown can read as an app.
	ErrNotApp = errors.New("not an app archive")
)

// archive is one opened zip: the app itself or a split inside it.
type archive struct {
	r     io.ReaderAt
	size  int64
	zr    *zip.Reader
	name  string // container path: "app.xapk" or "app.xapk!base.apk"
	depth int
	files []*zip.File // in reading order
	dups  []string    // names that occur more than once
	// table is the archive's resource table, parsed before the walk, and
	// tableFile its entry, whose unit scans it.
	table     *android.Table
	tableFile *zip.File
	// done holds the entries prepare read whole or failed to read.
	done map[*zip.File]bool
}

// openArchive opens a zip from memory or a file, checks the entry count and
// notes duplicate names: two entries named classes.dex are a known trick to
// show one file to a scanner and another to the device, so both are read and
// the app is flagged.
func (s *appScan) openArchive(r io.ReaderAt, size int64, name string, depth int) (*archive, error) {
	if depth > s.cfg.MaxDepth {
		return nil, fmt.Errorf("%s: nested %d deep: %w (max depth %d)", name, depth, ErrCap, s.cfg.MaxDepth)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("%s: %w: %v", name, ErrNotApp, err)
	}
	if len(zr.File) > s.cfg.MaxEntries {
		return nil, fmt.Errorf("%s: %d entries: %w (max %d)", name, len(zr.File), ErrCap, s.cfg.MaxEntries)
	}
	a := &archive{r: r, size: size, zr: zr, name: name, depth: depth, files: slices.Clone(zr.File)}
	seen := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		if seen[f.Name] && !slices.Contains(a.dups, f.Name) {
			a.dups = append(a.dups, f.Name)
		}
		seen[f.Name] = true
	}
	return a, nil
}

// read returns an entry's bytes, enforcing the per-entry size, the app's
// total and the compression ratio before reading, and the declared size
// while reading (an entry whose data runs past its declared size or misses
// its CRC fails, so a lying header cannot smuggle more bytes in: inflateRest
// checks both, archive/zip's reader for entries it reads). The bytes go into a buffer from alloc (nil: a new slice),
// taken only once the caps are checked; it is returned, even on error, for
// the caller to give back. With sniff, an entry whose first bytes show a
// format without text (noText) is not inflated further and skipped is
// true. stream, when not nil, is shown the entry's first bytes; if it
// returns a feed, the whole entry goes down that feed as it inflates and no
// buffer is taken (b is nil). watch, when not nil, is shown the buffer of a
// deflated entry once its first bytes are in; if it returns a progress,
// that is told as the rest comes in, a piece at a time (aheadStep).
func (s *appScan) read(a *archive, f *zip.File, alloc func(n int) ([]byte, error), sniff bool, stream func(head []byte) *feed, watch func(b []byte) *progress) (b []byte, skipped bool, err error) {
	n := f.UncompressedSize64
	where := a.name + "!" + f.Name
	switch {
	case f.Mode().IsDir():
		return nil, false, nil
	case n > uint64(s.cfg.MaxEntrySize):
		return nil, false, fmt.Errorf("%s: %d bytes: %w (max entry size %d)", where, n, ErrCap, s.cfg.MaxEntrySize)
	case n > 1<<20 && n/max(f.CompressedSize64, 1) > uint64(s.cfg.MaxRatio):
		return nil, false, fmt.Errorf("%s: compression ratio %d:1: %w (zip bomb? max %d:1)", where, n/max(f.CompressedSize64, 1), ErrCap, s.cfg.MaxRatio)
	}
	// Reserve the declared size against the app's total before reading, so
	// parallel readers cannot together overrun it.
	if s.total.Add(int64(n)) > s.cfg.MaxTotal {
		s.total.Add(-int64(n))
		return nil, false, fmt.Errorf("%s: app over %d uncompressed bytes: %w", where, s.cfg.MaxTotal, ErrCap)
	}
	var first [16]byte
	head := first[:min(int(n), len(first))]
	// A deflated entry is inflated straight into its buffer (see
	// internal/inflate) once its first bytes show it is to be read whole;
	// others, and entries that stream, go through archive/zip's reader.
	var d *inflate.Decoder
	var rc io.ReadCloser
	if f.Method == zip.Deflate {
		raw, err := f.OpenRaw()
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", where, err)
		}
		d = decoders.Get().(*inflate.Decoder)
		defer func() {
			d.Reset(nil, nil)
			decoders.Put(d)
		}()
		d.Reset(raw, head)
		if err := d.Fill(len(head)); err != nil {
			return nil, false, inflateError(where, err, n)
		}
	} else {
		if rc, err = f.Open(); err != nil {
			return nil, false, fmt.Errorf("%s: %w", where, err)
		}
		defer rc.Close()
		if _, err := io.ReadFull(rc, head); err != nil {
			return nil, false, short(where, err, n)
		}
	}
	if sniff && noText(head) {
		s.total.Add(-int64(int(n) - len(head)))
		return nil, true, nil
	}
	if stream != nil {
		if fd := stream(head); fd != nil {
			var err error
			if d != nil {
				err = inflateFeed(d, f, fd, head, where)
			} else {
				err = feedEntry(f, rc, fd, head, where)
			}
			fd.close(err)
			return nil, false, err
		}
	}
	if alloc == nil {
		b = make([]byte, n)
	} else if b, err = alloc(int(n)); errors.Is(err, errOverArena) {
		b = make([]byte, n) // named as a dex that streams, but it is not one
	} else if err != nil {
		return nil, false, fmt.Errorf("%s: %w", where, err)
	}
	copy(b, head)
	if d != nil {
		return b, false, inflateRest(d, f, b, watch, where)
	}
	if _, err := io.ReadFull(rc, b[len(head):]); err != nil {
		return b, false, short(where, err, n)
	}
	return b, false, atEnd(rc, where, n)
}

// inflateRest inflates the rest of a deflated entry into b, whose first
// bytes d has written, and checks that the stream ends with b and matches
// the entry's CRC, as archive/zip's reader would. When watch returns a
// progress for b, it is told as each aheadStep comes in, and of the last
// bytes only once the CRC holds.
func inflateRest(d *inflate.Decoder, f *zip.File, b []byte, watch func([]byte) *progress, where string) error {
	n := f.UncompressedSize64
	d.Move(b)
	step := len(b)
	var pr *progress
	if watch != nil {
		if pr = watch(b); pr != nil {
			defer pr.finish()
			step = aheadStep
		}
	}
	for done := d.Written(); done < len(b); {
		done = min(done+step, len(b))
		if err := d.Fill(done); err != nil {
			return inflateError(where, err, n)
		}
		if pr != nil && done < len(b) {
			pr.advance(done)
		}
	}
	if err := d.End(); err != nil {
		return inflateError(where, err, n)
	}
	if f.CRC32 != 0 && crc32.ChecksumIEEE(b) != f.CRC32 {
		return fmt.Errorf("%s: %w", where, zip.ErrChecksum)
	}
	if pr != nil {
		pr.advance(len(b))
	}
	return nil
}

// aheadStep is how much of a watched entry is inflated between two reports
// to its reader.
const aheadStep = 32 << 10

// decoders pools inflate decoders: each holds a 32 KiB input buffer and
// its code tables.
var decoders = sync.Pool{New: func() any { return new(inflate.Decoder) }}

// feedEntry sends an entry archive/zip reads (rc, with head read) down fd
// and checks its end. Once the reader has stopped, the rest is still read:
// its end is where archive/zip checks the CRC.
func feedEntry(f *zip.File, rc io.ReadCloser, fd *feed, head []byte, where string) error {
	n := f.UncompressedSize64
	buf := make([]byte, feedChunkSize)
	sending := fd.write(head)
	for left := int(n) - len(head); left > 0; {
		k, err := io.ReadFull(rc, buf[:min(len(buf), left)])
		left -= k
		sending = sending && fd.write(buf[:k])
		if err != nil {
			return short(where, err, n)
		}
	}
	return atEnd(rc, where, n)
}

// inflateFeed inflates the rest of a deflated entry, whose first bytes d
// has written, a window at a time, sends it down fd as it comes, and checks
// its end and CRC as inflateRest does. The window is the 32 KiB the stream
// may refer back to and a chunk; the entry is never held whole.
func inflateFeed(d *inflate.Decoder, f *zip.File, fd *feed, head []byte, where string) error {
	n := int(f.UncompressedSize64)
	window := make([]byte, inflate.Window+feedChunkSize)
	copy(window, head)
	d.Move(window)
	crc := crc32.ChecksumIEEE(head)
	sending := fd.write(head)
	slid, sent := 0, len(head) // bytes dropped from the window's front; bytes sent
	for sent < n {
		limit := min(len(window), n-slid)
		if err := d.Fill(limit); err != nil {
			return inflateError(where, err, uint64(n))
		}
		fresh := window[sent-slid : limit]
		crc = crc32.Update(crc, crc32.IEEETable, fresh)
		sending = sending && fd.write(fresh)
		sent = slid + limit
		slid += d.Slide()
	}
	d.Move(window[:d.Written()])
	if err := d.End(); err != nil {
		return inflateError(where, err, uint64(n))
	}
	if f.CRC32 != 0 && crc != f.CRC32 {
		return fmt.Errorf("%s: %w", where, zip.ErrChecksum)
	}
	return nil
}

// inflateError words a Decoder's error as archive/zip's reader would.
func inflateError(where string, err error, n uint64) error {
	if errors.Is(err, inflate.ErrLong) {
		return fmt.Errorf("%s: more bytes than the header's %d: %w", where, n, zip.ErrFormat)
	}
	return short(where, err, n)
}

// atEnd checks that an entry read to its declared size n ends there: one
// more read must meet the end, which lets archive/zip check the CRC and
// fail data longer than declared.
func atEnd(rc io.Reader, where string, n uint64) error {
	var one [1]byte
	switch m, err := io.ReadFull(rc, one[:]); {
	case m > 0:
		return fmt.Errorf("%s: more bytes than the header's %d: %w", where, n, zip.ErrFormat)
	case err != io.EOF:
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// short words the error of an entry that ended early.
func short(where string, err error, n uint64) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: fewer bytes than the header's %d: %w", where, n, zip.ErrFormat)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// nested reports whether an entry is itself an archive to walk: a split APK
// in an XAPK or APKS, an APK shipped in assets, a jar with dex inside.
func nested(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".apk", ".xapk", ".apks", ".zip", ".jar", ".aab", ".ipa":
		return true
	}
	return false
}

// splitOrder reads a bundle's base APK before its splits, so that the
// app's identity comes from the base manifest.
func splitOrder(files []*zip.File) {
	rank := func(f *zip.File) int {
		b := strings.ToLower(path.Base(f.Name))
		switch {
		case b == "base.apk" || b == "base-master.apk":
			return 0
		case strings.HasPrefix(b, "config.") || strings.HasPrefix(b, "split_"):
			return 2
		case strings.HasSuffix(b, ".apk"):
			return 1
		}
		return 3
	}
	slices.SortStableFunc(files, func(x, y *zip.File) int { return rank(x) - rank(y) })
}
