package extract

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// Errors of the archive walker; each names the cap that stopped it.
var (
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
// while reading (archive/zip also fails an entry whose data runs past its
// declared size, so a lying header cannot smuggle more bytes in).
func (s *appScan) read(a *archive, f *zip.File) ([]byte, error) {
	n := f.UncompressedSize64
	where := a.name + "!" + f.Name
	switch {
	case f.Mode().IsDir():
		return nil, nil
	case n > uint64(s.cfg.MaxEntrySize):
		return nil, fmt.Errorf("%s: %d bytes: %w (max entry size %d)", where, n, ErrCap, s.cfg.MaxEntrySize)
	case n > uint64(s.cfg.MaxTotal-s.total):
		return nil, fmt.Errorf("%s: app over %d uncompressed bytes: %w", where, s.cfg.MaxTotal, ErrCap)
	case n > 1<<20 && n/max(f.CompressedSize64, 1) > uint64(s.cfg.MaxRatio):
		return nil, fmt.Errorf("%s: compression ratio %d:1: %w (zip bomb? max %d:1)", where, n/max(f.CompressedSize64, 1), ErrCap, s.cfg.MaxRatio)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	defer rc.Close()
	buf := bytes.NewBuffer(make([]byte, 0, int(n)))
	m, err := io.Copy(buf, io.LimitReader(rc, int64(n)+1))
	s.total += m
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if uint64(m) != n {
		return nil, fmt.Errorf("%s: %d bytes where the header says %d: %w", where, m, n, zip.ErrFormat)
	}
	return buf.Bytes(), nil
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
