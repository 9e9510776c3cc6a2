package gown

import (
	"context"
	"time"
)

// A watch re-runs a scan or a fleet scan on a schedule, diffs each run
// against the last and alerts on what changed. All of its state lives in
// the results store (WatchStore), never only in memory: a watch that is
// killed and started again knows which run was due, what it was last
// diffed against, and which alerts each webhook already has.

// WatchSpec names a watch and what it runs.
type WatchSpec struct {
	Name string `json:"name"`
	// Command is "scan" or "fleet"; Args its own arguments (no webhook
	// URL: those may be secrets and are never stored).
	Command  string   `json:"command"`
	Args     []string `json:"args"`
	Schedule string   `json:"schedule"`
}

// Watch is a stored watch.
type Watch struct {
	ID int64 `json:"id"`
	WatchSpec
	Created time.Time `json:"created"`
}

// Watch run states.
const (
	RunRunning = "running" // begun; a watch killed meanwhile finds it so
	RunDone    = "done"    // scanned, diffed, alerts recorded
	RunFailed  = "failed"  // the scan or the diff failed; Error says why
)

// WatchRun is one run of a watch.
type WatchRun struct {
	Watch int64 `json:"watch"`
	Seq   int   `json:"seq"`
	// Due is the time the schedule set for the run; Started and Finished
	// when it ran.
	Due      time.Time `json:"due"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Scan is the pipeline scan the run made (0 until it began); Base the
	// scan it was diffed against (0 for a watch's first run).
	Scan  ScanID `json:"scan"`
	Base  ScanID `json:"base"`
	State string `json:"state"`
	Error string `json:"error,omitempty"`
}

// Alert is one change a run found at or above the watch's threshold.
// Payload is the JSON document webhooks are built from, made (and
// redacted) once when the alert was recorded.
type Alert struct {
	ID        string    `json:"id"`
	Watch     int64     `json:"watch"`
	Seq       int       `json:"seq"`
	Kind      string    `json:"kind"`
	Severity  Severity  `json:"severity"`
	FindingID string    `json:"finding_id"`
	Payload   []byte    `json:"-"`
	Created   time.Time `json:"created"`
}

// Delivery states of an alert to one webhook.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed" // its attempts ran out: kept as the record of what was not delivered
)

// Delivery is an alert's delivery to one webhook, named by Sink: a hash of
// the webhook's URL, never the URL.
type Delivery struct {
	Alert     Alert     `json:"alert"`
	Sink      string    `json:"sink"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	Updated   time.Time `json:"updated"`
}

// WatchStore is the optional ability of a Store to keep watches. Both of
// gown's backends have it.
type WatchStore interface {
	// EnsureWatch returns the watch named spec.Name, creating it. An
	// existing watch takes spec's command, arguments and schedule.
	EnsureWatch(ctx context.Context, spec WatchSpec) (Watch, error)
	// Watches lists the stored watches by name.
	Watches(ctx context.Context) ([]Watch, error)
	// WatchRuns walks a watch's runs, newest first.
	WatchRuns(ctx context.Context, watch int64, fn func(WatchRun) error) error
	// StartRun records a new running run due at due and returns it with
	// its sequence number (one more than the newest run's).
	StartRun(ctx context.Context, watch int64, due time.Time) (WatchRun, error)
	// SetRunScan records the pipeline scan a running run made.
	SetRunScan(ctx context.Context, watch int64, seq int, scan ScanID) error
	// FinishRun marks a run done, diffed against base, and records its
	// alerts with a pending delivery to each sink, in one transaction:
	// a watch killed before it committed runs the run again, one killed
	// after has the alerts to deliver. Alerts already recorded are kept.
	FinishRun(ctx context.Context, run WatchRun, alerts []Alert, sinks []string) error
	// FailRun marks a run failed with why.
	FailRun(ctx context.Context, watch int64, seq int, why string) error
	// Deliveries walks a watch's deliveries in the given states (all when
	// none), oldest alert first.
	Deliveries(ctx context.Context, watch int64, states []string, fn func(Delivery) error) error
	// RecordDelivery sets an alert's delivery to sink: its state, the
	// attempts made so far and the last error.
	RecordDelivery(ctx context.Context, alert, sink, state string, attempts int, lastErr string) error
}
