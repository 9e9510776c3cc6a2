// Package lazyre is a regular expression compiled on first use. gown is one
// binary for every command, and Go runs every linked package's init before
// main: the assessment, redaction and test-bed patterns compiled at init cost
// every run (`gown version`, `gown app --extract-only`) about 4 ms and 2 MB
// before it did anything (GODEBUG=inittrace=1). A pattern that is never used
// in a run is never compiled in it.
//
// A bad pattern still panics, at first use instead of at init. Each
// package's tests check its patterns (All, Package; lazyretest.Check)
// against examples of what each must and must not match, so that a typo
// fails the tests, not a scan.
package lazyre

import (
	"regexp"
	"runtime"
	"strings"
	"sync"
)

// Regexp is a pattern compiled the first time it is used. It is safe for
// concurrent use, as *regexp.Regexp is.
type Regexp struct {
	src  string
	pc   uintptr // the call of New, for Package (0: not tracked)
	once sync.Once
	re   *regexp.Regexp
}

var (
	mu  sync.Mutex
	all []*Regexp
	// origins is set by TrackOrigins, before the patterns of the package
	// under test are made, and never by gown itself.
	origins bool
)

// TrackOrigins makes New record where each later pattern is made, for
// Package. Only tests call it: lazyretest does as it initialises, which is
// before the package under test (which imports it) makes its patterns.
// Recording costs a stack frame walk, about a microsecond a pattern at
// start, which gown does not pay.
func TrackOrigins() { origins = true }

// New returns src as a pattern to compile on first use.
func New(src string) *Regexp {
	r := &Regexp{src: src}
	if origins {
		var pc [1]uintptr
		runtime.Callers(2, pc[:])
		r.pc = pc[0]
	}
	mu.Lock()
	all = append(all, r)
	mu.Unlock()
	return r
}

// All returns every pattern made so far, in the order they were made,
// without compiling any.
func All() []*Regexp {
	mu.Lock()
	defer mu.Unlock()
	return append([]*Regexp(nil), all...)
}

// Package returns the import path of the package whose code called New
// ("github.com/gownscan/gown/assess"), or "" for a pattern made before
// TrackOrigins.
func (r *Regexp) Package() string {
	if r.pc == 0 {
		return ""
	}
	f, _ := runtime.CallersFrames([]uintptr{r.pc}).Next()
	return funcPackage(f.Function)
}

// funcPackage cuts a function's full name (path/pkg.(*T).method.func1)
// to its package's import path: the path's own dots come before its last
// slash (the linker writes one in the last element as %2e), and the
// package name ends at the first dot after it.
func funcPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/') + 1
	if dot := strings.IndexByte(fn[slash:], '.'); dot >= 0 {
		fn = fn[:slash+dot]
	}
	return strings.ReplaceAll(fn, "%2e", ".")
}

// Regexp returns the compiled pattern.
func (r *Regexp) Regexp() *regexp.Regexp {
	r.once.Do(func() { r.re = regexp.MustCompile(r.src) })
	return r.re
}

// String returns the source text, without compiling it.
func (r *Regexp) String() string { return r.src }

// The methods below are those of *regexp.Regexp that gown uses.

func (r *Regexp) MatchString(s string) bool { return r.Regexp().MatchString(s) }
func (r *Regexp) FindString(s string) string {
	return r.Regexp().FindString(s)
}
func (r *Regexp) FindStringSubmatch(s string) []string {
	return r.Regexp().FindStringSubmatch(s)
}
func (r *Regexp) FindAllString(s string, n int) []string {
	return r.Regexp().FindAllString(s, n)
}
func (r *Regexp) FindAllSubmatchIndex(b []byte, n int) [][]int {
	return r.Regexp().FindAllSubmatchIndex(b, n)
}
func (r *Regexp) ReplaceAllStringFunc(s string, f func(string) string) string {
	return r.Regexp().ReplaceAllStringFunc(s, f)
}
