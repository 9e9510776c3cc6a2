package gown

import (
	"context"
	"net"
	"strconv"
	"time"
)

// ScanID names one scan in a Store. Ids grow with time, so the newest scan
// has the highest id.
type ScanID int64

// ScanState says how far a scan got.
type ScanState string

// Scan states. A scan killed outright (SIGKILL, power loss) stays running;
// both running and interrupted scans can be resumed, and a resumed scan is
// running again until it ends. Pruning spares running scans unless told.
const (
	ScanRunning     ScanState = "running"
	ScanInterrupted ScanState = "interrupted"
	ScanDone        ScanState = "done"
)

// ScanMeta describes one scan.
type ScanMeta struct {
	ID       ScanID    `json:"id"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	State    ScanState `json:"state"`
	// Command is the gown command that ran the scan: "scan" (the default),
	// "app", "demo". Args are its own arguments (targets and flags), kept
	// so that a resumed scan expands exactly the same targets.
	Command string   `json:"command,omitempty"`
	Args    []string `json:"args"`
	Version string   `json:"version,omitempty"`
	// Targets, Results and Findings count what was stored; readers fill them.
	Targets  int64 `json:"targets"`
	Results  int64 `json:"results"`
	Findings int64 `json:"findings"`
}

// Record is what a scan stores for one finished target, or for findings
// about no single service.
//
// A record with a Result stores the result with the findings drawn from it
// and marks its target done. A record with neither Result nor Findings marks
// its target done and keeps nothing (a closed port without --all), so that a
// resumed scan skips it. A record with Findings but no Result is standalone
// (see Standalone): findings about an app's own code or about several results
// at once; it marks no target done.
//
// A record with an App stores the app the scan read, with its endpoints
// (Store.ScanApps reads it back), and its Findings are the app's own,
// standalone; it marks no target done either.
type Record struct {
	Target   Target
	Result   *Result
	Findings []Finding
	App      *App
}

// Standalone reports whether the record holds findings about no single
// service: an app's hard-coded credentials or clear-text policy, one address
// answering as many stores. Each finding names its own subject in its
// Target (an app's id, an address) and, for an app, its Locations.
func (r Record) Standalone() bool { return r.Result == nil && len(r.Findings) > 0 }

// OnlyDone reports whether the record only marks its target finished (a
// closed port): no result, no finding, no app.
func (r *Record) OnlyDone() bool { return r.Result == nil && len(r.Findings) == 0 && r.App == nil }

// TargetKey identifies a target within a scan, for resume: the same spec
// expanded twice gives the same keys. Targets that differ only in Path (two
// containers of one account) have different keys.
func TargetKey(t Target) string {
	k := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	if t.Addr.IsValid() && t.Addr.String() != t.Host {
		k += "@" + t.Addr.String()
	}
	if t.Hint != "" {
		k += "/" + t.Hint
	}
	if t.Path != "" {
		// After a space, which no host, hint or escaped path holds: a path
		// never reads as a hint.
		k += " " + t.Path
	}
	return k
}

// Store keeps scans, their results and findings. Writes of one AddResults
// call are one transaction: all of the batch is stored or none of it.
// Readers stream through callbacks and never load a whole scan; a callback
// error stops the walk and is returned.
type Store interface {
	// BeginScan records a new running scan and returns its id.
	BeginScan(ctx context.Context, meta ScanMeta) (ScanID, error)
	// AddResults stores a batch atomically. Replaying a batch after a crash
	// is harmless: a target whose result the scan already stored is skipped,
	// and the finished-only targets (Record.OnlyDone) of a batch stored
	// before are not stored again. A finished-only target that two batches
	// both hold (two workers ran it) is stored twice: DoneTargets walks it
	// twice and the scan's target count holds it twice.
	AddResults(ctx context.Context, scan ScanID, batch []Record) error
	// FinishScan sets the scan's final state and end time. ScanRunning
	// marks a scan taken up again by a resume running, with no end time.
	FinishScan(ctx context.Context, scan ScanID, state ScanState) error
	// Scan returns one scan's description with its counts.
	Scan(ctx context.Context, scan ScanID) (ScanMeta, error)
	// Scans walks every scan, newest first.
	Scans(ctx context.Context, fn func(ScanMeta) error) error
	// Results walks a scan's results with their findings. Standalone
	// findings come first, with a nil result, one call per subject (host,
	// port), ordered by host (byte-wise) and port; then the results, ordered
	// by host, port, store, then TargetKey: the order reports and diffs rely
	// on.
	Results(ctx context.Context, scan ScanID, fn func(*Result, []Finding) error) error
	// ScanApps walks the apps the scan read (Record.App), in the order they
	// were stored, each whole: identity, frameworks and endpoints with
	// their party, sources and parts, as extraction gave them. The same
	// file stored twice in one scan is kept once.
	ScanApps(ctx context.Context, scan ScanID, fn func(*App) error) error
	// DoneTargets walks the TargetKey of every target the scan finished.
	DoneTargets(ctx context.Context, scan ScanID, fn func(key string) error) error
	// Prune deletes all but the newest keep scans with everything they hold
	// and returns how many scans went. Running scans are spared: a store
	// cannot tell a live one from one killed outright, and deleting a live
	// scan loses its results.
	Prune(ctx context.Context, keep int) (int, error)
	Close() error
}

// StoredFinding is a finding as the store tracks it across scans.
type StoredFinding struct {
	Finding
	FirstSeen ScanID `json:"first_seen"`
	LastSeen  ScanID `json:"last_seen"`
}

// FindingHistory is the optional ability to walk the findings a store has
// ever seen, ordered by id, with the scans that first and last saw each.
type FindingHistory interface {
	Findings(ctx context.Context, fn func(StoredFinding) error) error
}

// Vacuumer is the optional ability to give freed space back to the system.
type Vacuumer interface {
	Vacuum(ctx context.Context) error
}
