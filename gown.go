// Package gown holds the domain of the gown scanner: the targets it probes, the
// results a prober reports, the findings drawn from them, and the small
// interfaces the other packages implement. It imports nothing of the project.
//
// The flow is: targets (typed by a user or extracted from an app) → probe →
// results (store kind, verdict, evidence, TLS, inventory) → findings → sinks.
package gown

// Reporter receives results as they arrive. Implementations must not hold all
// results in memory; Close flushes whatever is buffered.
type Reporter interface {
	Report(r *Result) error
	Close() error
}
