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
	// Name is the stable id used in flags, output and the database: "redis".
	Name() string
	// Ports are the well-known ports, for expansion and auto-detection.
	Ports() []int
	// Probe checks the target, reaching the network only through d.
	Probe(ctx context.Context, t gown.Target, d Dialer) (*gown.Result, error)
}

// ServerFirst is an optional ability: a prober whose protocol starts with the
// server speaking (MySQL's greeting) says so, and auto-detection tries it
// before client-first protocols, which have to send a request.
type ServerFirst interface {
	ServerFirst() bool
}

// Registry is the explicit list of probers. It is built once and read-only.
type Registry struct {
	list   []Prober
	byName map[string]Prober
	byPort map[int][]Prober
}

// NewRegistry builds a registry. It panics on an empty or duplicate name: that
// is a programming error in probe/all, not a runtime condition.
func NewRegistry(ps ...Prober) *Registry {
	r := &Registry{byName: map[string]Prober{}, byPort: map[int][]Prober{}}
	for _, p := range ps {
		name := p.Name()
		if name == "" {
			panic(fmt.Sprintf("probe: prober %T has an empty name", p))
		}
		if _, dup := r.byName[name]; dup {
			panic(fmt.Sprintf("probe: prober %q registered twice", name))
		}
		r.byName[name] = p
		r.list = append(r.list, p)
		for _, port := range p.Ports() {
			r.byPort[port] = append(r.byPort[port], p)
		}
	}
	return r
}

// All lists the probers in registration order.
func (r *Registry) All() []Prober { return slices.Clone(r.list) }

// Get finds a prober by name.
func (r *Registry) Get(name string) (Prober, bool) {
	p, ok := r.byName[name]
	return p, ok
}

// ForPort lists the probers that claim a port.
func (r *Registry) ForPort(port int) []Prober { return r.byPort[port] }

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
// client-first ones, each in registration order.
func (r *Registry) split() (serverFirst, clientFirst []Prober) {
	for _, p := range r.list {
		if len(p.Ports()) == 0 {
			continue // reached only through a hint (Firebase): never guessed
		}
		if sf, ok := p.(ServerFirst); ok && sf.ServerFirst() {
			serverFirst = append(serverFirst, p)
		} else {
			clientFirst = append(clientFirst, p)
		}
	}
	return serverFirst, clientFirst
}
