package gown

import (
	"context"
	"time"
)

// BatchState says what became of one batch of a queued scan.
type BatchState string

// Batch states. A batch is running from the moment a worker takes it up
// until it ends; a worker killed outright leaves it running until the queue
// delivers it again and another worker takes it over.
const (
	BatchRunning BatchState = "running"
	BatchDone    BatchState = "done"    // every target ran and is stored
	BatchDead    BatchState = "dead"    // it kept failing: a dead letter, reported, its targets not probed
	BatchDropped BatchState = "dropped" // its scan was cancelled before or while it ran
)

// QueueState is how far a scan that queue workers run has got: how many
// batches it was cut into and what became of them. Batches grows while the
// submitter publishes and is final once Sealed.
type QueueState struct {
	Scan      ScanID    `json:"scan"`
	State     ScanState `json:"state"`
	Batches   int64     `json:"batches"`
	Targets   int64     `json:"targets"`
	Sealed    bool      `json:"sealed"`
	Done      int64     `json:"done"`
	Running   int64     `json:"running"`
	Dead      int64     `json:"dead"`
	Dropped   int64     `json:"dropped"`
	Cancelled bool      `json:"cancelled,omitempty"`
}

// Ended counts the batches that will not run again.
func (q QueueState) Ended() int64 { return q.Done + q.Dead + q.Dropped }

// Queued counts the batches published but neither running nor ended.
func (q QueueState) Queued() int64 { return max(q.Batches-q.Ended()-q.Running, 0) }

// Finished reports whether every batch of the scan has ended, or the scan
// was cancelled: nothing more will be stored for it.
func (q QueueState) Finished() bool {
	return q.Cancelled || q.Sealed && q.Ended() >= q.Batches
}

// DeadLetter is a batch that failed on every delivery the queue allows. It
// is kept with its message, so that what it held is reported, not lost.
type DeadLetter struct {
	Scan       ScanID    `json:"scan"`
	Batch      int64     `json:"batch"`
	Targets    int       `json:"targets"`
	Deliveries int       `json:"deliveries"`
	Worker     string    `json:"worker,omitempty"`
	Error      string    `json:"error"`
	Ended      time.Time `json:"ended"`
	// Message is the batch message as the queue held it (JSON when it
	// could be read at all), for re-submitting by hand.
	Message string `json:"message"`
}

// BatchEnd is how a worker ends a batch it took up.
type BatchEnd struct {
	State BatchState // BatchDone, BatchDead or BatchDropped
	// Targets is how many targets the batch held, Deliveries how often the
	// queue had delivered it, Worker who ended it.
	Targets    int
	Deliveries int
	Worker     string
	// Error and Message are kept for a dead letter.
	Error   string
	Message string
}

// Ledger is the optional ability of a Store to keep the books of scans
// run by queue workers (package queue): how many batches a scan has, which
// ended how, whether the scan was cancelled, and the dead letters. Every
// method is one transaction, so that concurrent workers on other machines
// count each batch once and exactly one of them marks the scan finished.
type Ledger interface {
	// QueueScan records that the scan runs on the queue, with the
	// options (opaque text) every worker applies to its batches.
	QueueScan(ctx context.Context, scan ScanID, options string) error
	// QueueOptions returns what QueueScan recorded; ErrNoScan-wrapped
	// when the scan is not a queued one.
	QueueOptions(ctx context.Context, scan ScanID) (string, error)
	// Published records how many batches and targets the submitter has
	// published so far; sealed says these are all. Sealing a scan whose
	// batches all ended already finishes it.
	Published(ctx context.Context, scan ScanID, batches, targets int64, sealed bool) (QueueState, error)
	// StartBatch takes up a batch for worker. It returns BatchRunning
	// when the worker should run it, or the state the batch already ended
	// in (a delivery after the ack was lost), and whether the scan was
	// cancelled.
	StartBatch(ctx context.Context, scan ScanID, batch int64, worker string, delivery int) (BatchState, bool, error)
	// EndBatch ends a batch, once: a second end of the same batch changes
	// nothing. The worker (or submitter) whose end makes every batch of a
	// sealed scan ended marks the scan done (interrupted when some batch
	// is dead), in the same transaction.
	EndBatch(ctx context.Context, scan ScanID, batch int64, end BatchEnd) (QueueState, error)
	// Cancel marks a queued scan cancelled and interrupted: workers drop
	// its batches from then on.
	Cancel(ctx context.Context, scan ScanID) (QueueState, error)
	// QueueState returns the scan's queue state; ok is false for a scan
	// that does not run on the queue.
	QueueState(ctx context.Context, scan ScanID) (q QueueState, ok bool, err error)
	// DeadLetters walks the dead letters of one scan (every scan when
	// scan is 0), oldest first.
	DeadLetters(ctx context.Context, scan ScanID, fn func(DeadLetter) error) error
	// StoredKeys returns those of keys (TargetKey values) the scan has
	// stored, so that a batch delivered again probes only the rest.
	StoredKeys(ctx context.Context, scan ScanID, keys []string) (map[string]bool, error)
}
