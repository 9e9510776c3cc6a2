// Package ios reads the parts of an iOS app that name back ends: property
// lists (Info.plist, GoogleService-Info.plist; XML or binary, through
// howett.net/plist, checked against depth and size caps before it decodes
// them: see bounds.go) and Mach-O string sections (debug/macho, thin and
// fat), and says whether a binary is FairPlay-encrypted.
package ios

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"howett.net/plist"
)

// Plist is a decoded property list.
type Plist struct {
	Root any
	// budget is the string bytes Strings may yield (see maxStringBytes);
	// zero, in a Plist built by hand, sets no cap.
	budget int
}

// maxPlistStrings bounds the strings walked out of one plist.
const maxPlistStrings = 100000

// maxStringBytes is the string bytes Strings yields from a plist of n
// bytes. A binary plist may use one long string at many places, each
// yielded and scanned anew; real files repeat short strings (CF's writer
// shares equal ones), so twice the file and some megabytes more is ample.
func maxStringBytes(n int) int { return 2*n + 8<<20 }

// ParsePlist decodes an XML or binary property list, after checking it
// against MaxPlistDepth and MaxPlistObjects (an over-cap plist gives an
// error wrapping ErrPlistCap, and is never handed to the decoder). The
// OpenStep text form gives ErrTextPlist. The decoder may panic on crafted
// input in ways its fuzzing has not found; a panic is turned into an error
// here so one bad file never stops a batch.
func ParsePlist(b []byte) (p *Plist, err error) {
	if err := checkPlist(b); err != nil {
		if errors.Is(err, ErrTextPlist) {
			return nil, err
		}
		return nil, fmt.Errorf("plist: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("plist: decoder panic: %v", r)
		}
	}()
	var v any
	if _, err := plist.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("plist: %w", err)
	}
	return &Plist{Root: v, budget: maxStringBytes(len(b))}, nil
}

// String returns a top-level string value.
func (p *Plist) String(key string) string {
	m, _ := p.Root.(map[string]any)
	s, _ := m[key].(string)
	return s
}

// ErrPlistStrings means Strings stopped at its cap on the strings or the
// string bytes of one plist.
var ErrPlistStrings = errors.New("plist strings over a safety cap")

// Strings calls yield with every string value in the plist and the key path
// that leads to it ("NSAppTransportSecurity.NSExceptionDomains"), in a
// stable order, depth-first; keys are not yielded. It stops, with an error
// wrapping ErrPlistStrings, past maxPlistStrings strings or the plist's
// budget of string bytes; what was yielded before stands.
func (p *Plist) Strings(yield func(path, s string) bool) error {
	n, bytes := 0, 0
	var capped error
	// ParsePlist caps the depth, so the recursion here is shallow; the
	// check stays for a Plist built by hand.
	var walk func(path string, v any, depth int) bool
	walk = func(path string, v any, depth int) bool {
		if depth > MaxPlistDepth {
			return false
		}
		switch v := v.(type) {
		case string:
			if n >= maxPlistStrings || bytes+len(v) > p.budget && p.budget > 0 {
				capped = fmt.Errorf("plist: strings past the first %d (%d bytes) not read: %w", n, bytes, ErrPlistStrings)
				return false
			}
			n, bytes = n+1, bytes+len(v)
			return yield(path, v)
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if !walk(strings.TrimPrefix(path+"."+k, "."), v[k], depth+1) {
					return false
				}
			}
		case []any:
			for _, e := range v {
				if !walk(path, e, depth+1) {
					return false
				}
			}
		}
		return true
	}
	walk("", p.Root, 0)
	return capped
}

// ExceptionDomain is one NSExceptionDomains entry of App Transport Security.
type ExceptionDomain struct {
	Domain     string
	Subdomains bool
	Insecure   bool // NSExceptionAllowsInsecureHTTPLoads (or the temporary form)
}

// ATS is an app's App Transport Security settings.
type ATS struct {
	ArbitraryLoads bool // NSAllowsArbitraryLoads
	WebContent     bool // NSAllowsArbitraryLoadsInWebContent
	Domains        []ExceptionDomain
}

// ReadATS returns the NSAppTransportSecurity dictionary of an Info.plist;
// nil when the app sets none (ATS then blocks clear text).
func ReadATS(p *Plist) *ATS {
	root, _ := p.Root.(map[string]any)
	d, ok := root["NSAppTransportSecurity"].(map[string]any)
	if !ok {
		return nil
	}
	a := &ATS{ArbitraryLoads: isTrue(d["NSAllowsArbitraryLoads"]), WebContent: isTrue(d["NSAllowsArbitraryLoadsInWebContent"])}
	ex, _ := d["NSExceptionDomains"].(map[string]any)
	for name, v := range ex {
		e, _ := v.(map[string]any)
		a.Domains = append(a.Domains, ExceptionDomain{
			Domain:     strings.ToLower(name),
			Subdomains: isTrue(e["NSIncludesSubdomains"]),
			Insecure:   isTrue(e["NSExceptionAllowsInsecureHTTPLoads"]) || isTrue(e["NSTemporaryExceptionAllowsInsecureHTTPLoads"]),
		})
	}
	slices.SortFunc(a.Domains, func(x, y ExceptionDomain) int { return strings.Compare(x.Domain, y.Domain) })
	return a
}

// isTrue reads a plist boolean, also written as the strings YES or true by
// some build tools.
func isTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "yes") || strings.EqualFold(v, "true")
	}
	return false
}
