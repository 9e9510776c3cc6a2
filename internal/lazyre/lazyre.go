// Package lazyre is a regular expression compiled on first use. gown is one
// binary for every command, and Go runs every linked package's init before
// main: the assessment, redaction and test-bed patterns compiled at init cost
// every run (`gown version`, `gown app --extract-only`) about 4 ms and 2 MB
// before it did anything (GODEBUG=inittrace=1). A pattern that is never used
// in a run is never compiled in it.
//
// A bad pattern still panics, at first use instead of at init; each package
// test calls CompileAll so that a typo fails the tests, not a scan.
package lazyre

import (
	"regexp"
	"sync"
)

// Regexp is a pattern compiled the first time it is used. It is safe for
// concurrent use, as *regexp.Regexp is.
type Regexp struct {
	src  string
	once sync.Once
	re   *regexp.Regexp
}

var (
	mu  sync.Mutex
	all []*Regexp
)

// New returns src as a pattern to compile on first use.
func New(src string) *Regexp {
	r := &Regexp{src: src}
	mu.Lock()
	all = append(all, r)
	mu.Unlock()
	return r
}

// CompileAll compiles every pattern made so far, panicking on the first bad
// one, as regexp.MustCompile would at init.
func CompileAll() {
	mu.Lock()
	rs := append([]*Regexp(nil), all...)
	mu.Unlock()
	for _, r := range rs {
		r.Regexp()
	}
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
