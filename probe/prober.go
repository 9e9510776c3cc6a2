// Package probe checks network services for data stores. It holds the Prober
// interface every store implements, the Registry that lists them, the Dialer
// and Conn through which probers reach the network, and the Engine that runs
// probers over a stream of targets with bounded concurrency, per-host limits,
// an optional rate limit and per-target deadlines.
//
// Nothing here knows about apps; the store folders below (probe/redis,
// probe/mysql, ...) import this package and gown, never each other.
package probe

import (
	"context"
	"fmt"
	"slices"

	"github.com/gownscan/gown"
)

// Prober checks one kind of data store at one address. It is safe for
// concurrent use, read-only, returns when ctx is done, and returns a Result
// whenever the service was identified, even if a later step failed (the error
// then goes in Result.Error). It returns (nil, err) only when it could not
// tell whether the store is there; err then says why (dial failure, timeout,
// reply too large, bad framing).
type Prober interface {
	// Kind describes the store: its stable name ("redis"), well-known ports,
	// URL schemes, and how detection may reach it. It returns the same
	// descriptor on every call, declared once in the prober's package.
	Kind() gown.StoreKind
	// Probe checks the target, reaching the network only through d.
	Probe(ctx context.Context, t gown.Target, d Dialer) (*gown.Result, error)
}

// Registry is the explicit list of probers and the catalog of their kinds. It
// is built once and read-only.
type Registry struct {
	list   []Prober
	byName map[string]Prober
	byPort map[int][]Prober
	// byDetectPort lists the hint-only probers detection may try last on a
	// port (StoreKind.DetectPorts).
	byDetectPort map[int][]Prober
	catalog      *gown.Catalog
	// serverFirst and clientFirst are the probers detection may try, split
	// by who speaks first, each in registration order.
	serverFirst, clientFirst []Prober
}

// NewRegistry builds a registry and the catalog of its probers' kinds. It
// panics on an empty, malformed or duplicate name and on any other fault
// gown.NewCatalog finds in a kind: that is a programming error in a prober
// or in probe/all, not a runtime condition.
func NewRegistry(ps ...Prober) *Registry {
	r := &Registry{byName: map[string]Prober{}, byPort: map[int][]Prober{}, byDetectPort: map[int][]Prober{}}
	kinds := make([]gown.StoreKind, 0, len(ps))
	for _, p := range ps {
		k := p.Kind()
		if k.Name == "" {
			panic(fmt.Sprintf("probe: prober %T has an empty name", p))
		}
		if _, dup := r.byName[k.Name]; dup {
			panic(fmt.Sprintf("probe: prober %q registered twice", k.Name))
		}
		kinds = append(kinds, k)
		r.byName[k.Name] = p
		r.list = append(r.list, p)
		for _, port := range k.Ports {
			r.byPort[port] = append(r.byPort[port], p)
		}
		for _, port := range k.DetectPorts {
			r.byDetectPort[port] = append(r.byDetectPort[port], p)
		}
		switch {
		case k.HintOnly: // reached only through a hint (Firebase), or last in detection on its DetectPorts
		case k.ServerFirst:
			r.serverFirst = append(r.serverFirst, p)
		default:
			r.clientFirst = append(r.clientFirst, p)
		}
	}
	r.catalog = gown.NewCatalog(kinds...)
	return r
}

// All lists the probers in registration order.
func (r *Registry) All() []Prober { return slices.Clone(r.list) }

// Catalog is the table of the registered probers' kinds and their URL
// schemes.
func (r *Registry) Catalog() *gown.Catalog { return r.catalog }

// Get finds a prober by name.
func (r *Registry) Get(name string) (Prober, bool) {
	p, ok := r.byName[name]
	return p, ok
}

// ForPort lists the probers that claim a port.
func (r *Registry) ForPort(port int) []Prober { return r.byPort[port] }

// ForDetectPort lists the hint-only probers detection tries last on a port.
func (r *Registry) ForDetectPort(port int) []Prober { return r.byDetectPort[port] }

// Ports lists every well-known port of every prober, sorted, without repeats.
func (r *Registry) Ports() []int {
	var out []int
	for port := range r.byPort {
		out = append(out, port)
	}
	slices.Sort(out)
	return out
}

// Select narrows the registry to the named probers, in the given order.
func (r *Registry) Select(names ...string) (*Registry, error) {
	var ps []Prober
	for _, n := range names {
		p, ok := r.byName[n]
		if !ok {
			return nil, fmt.Errorf("probe: no prober named %q", n)
		}
		ps = append(ps, p)
	}
	return NewRegistry(ps...), nil
}

// split divides the probers that detection may try into server-first and
// client-first ones, each in registration order; hint-only probers are in
// neither.
func (r *Registry) split() (serverFirst, clientFirst []Prober) {
	return r.serverFirst, r.clientFirst
}
