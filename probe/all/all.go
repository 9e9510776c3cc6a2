// Package all is the explicit list of every prober gown ships. Adding a store
// is one folder under probe/ and one line here.
package all

import (
	"github.com/gownscan/gown/probe"
)

// Registry returns a registry of every prober, in the order auto-detection
// tries client-first protocols.
func Registry() *probe.Registry {
	return probe.NewRegistry()
}
