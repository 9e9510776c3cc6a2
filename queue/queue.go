// Package queue runs scans beyond one machine: a submitter cuts a scan's
// targets into batches and publishes them to a NATS JetStream work-queue
// stream; workers on any number of machines pull the batches, run each
// through the same pipeline as a local scan (package scan, attached to the
// scan the submitter began) and write to one shared PostgreSQL results
// store. The store's ledger (gown.Ledger) keeps the books: how many batches
// a scan has, which ended how, the dead letters, cancellation.
//
// The stream (docs/architecture.md, "Out of one machine"):
//
//	subjects  <Subject>.<partition>.<scan>, e.g. gown.batch.07.12: one
//	          subject per partition and scan; the stream lists one
//	          wildcard per partition, so its subjects say how many there are
//	message   a Batch as JSON (scan id, batch id, partition, typed
//	          targets); Nats-Msg-Id gown-<scan>-<began>-<batch>, so a
//	          publish repeated after a lost ack, or a scan submitted again,
//	          is dropped as a duplicate
//	consumers one durable pull consumer per partition, max ack pending 1:
//	          a partition's batches run one at a time, on one worker, so
//	          every target of one address is probed by one process at a
//	          time and the per-host limit stays one process's limit
//
// Delivery is at least once; the results store makes it exactly once: a
// redelivered batch stores nothing twice (gown.Store.AddResults skips
// stored targets, the ledger ends each batch once) and probes only the
// targets the store does not hold yet.
package queue

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Config names the stream and sets its delivery rules. Every process on one
// stream should run with the same settings: workers apply theirs to the
// consumers each time they start.
type Config struct {
	// URL is the NATS server, nats://host:port.
	URL string
	// Stream names the JetStream stream ("GOWN"); Subject is the prefix of
	// its subjects ("gown.batch"). One stream serves one results store:
	// scan ids are the store's.
	Stream  string
	Subject string
	// Partitions is how many partitions a new stream gets (32); an
	// existing stream keeps its own, read from its subjects. It bounds the
	// batches in flight across all workers.
	Partitions int
	// AckWait is how long a batch may go without a sign of life from its
	// worker before the queue delivers it again (60 s); workers send one
	// every AckWait/4 while a batch runs, so only a dead or stalled worker
	// lets it expire.
	AckWait time.Duration
	// MaxDeliver is how often a batch is delivered before it becomes a
	// dead letter (5).
	MaxDeliver int
	// NakDelay is how long a failed batch waits before it is delivered
	// again, times its delivery count (2 s, 4 s, 6 s...).
	NakDelay time.Duration
	// Duplicates is the stream's window for dropping a message published
	// twice with the same id (1 h).
	Duplicates time.Duration
}

// Validate checks the config and fills in defaults.
func (c *Config) Validate() error {
	if !strings.HasPrefix(c.URL, "nats://") && !strings.HasPrefix(c.URL, "tls://") {
		return fmt.Errorf("queue %q: want a nats://HOST:PORT URL", c.URL)
	}
	if c.Stream == "" {
		c.Stream = "GOWN"
	}
	if c.Subject == "" {
		c.Subject = "gown.batch"
	}
	if strings.ContainsAny(c.Stream, ". *>") || strings.ContainsAny(c.Subject, " *>") ||
		strings.HasPrefix(c.Subject, ".") || strings.HasSuffix(c.Subject, ".") {
		return fmt.Errorf("queue: stream %q, subject %q: no wildcards, spaces or edge dots", c.Stream, c.Subject)
	}
	if c.Partitions == 0 {
		c.Partitions = 32
	}
	if c.Partitions < 1 || c.Partitions > 1000 {
		return fmt.Errorf("queue: %d partitions: want 1 to 1000", c.Partitions)
	}
	if c.AckWait == 0 {
		c.AckWait = time.Minute
	}
	if c.MaxDeliver == 0 {
		c.MaxDeliver = 5
	}
	if c.NakDelay == 0 {
		c.NakDelay = 2 * time.Second
	}
	if c.Duplicates == 0 {
		c.Duplicates = time.Hour
	}
	if c.AckWait < 100*time.Millisecond || c.MaxDeliver < 1 || c.NakDelay < 0 || c.Duplicates < time.Second {
		return fmt.Errorf("queue: ack wait %s, max deliver %d, nak delay %s, duplicates %s: out of range",
			c.AckWait, c.MaxDeliver, c.NakDelay, c.Duplicates)
	}
	return nil
}

// Queue is a connection to the stream.
type Queue struct {
	cfg    Config
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	parts  int
}

// Open connects to NATS as name, and creates the stream unless it exists.
// The connection reconnects on its own for as long as it is open: a NATS
// restart pauses the work, it does not end it.
func Open(ctx context.Context, cfg Config, name string) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	nc, err := connect(ctx, cfg.URL, name)
	if err != nil {
		return nil, err
	}
	q := &Queue{cfg: cfg, nc: nc}
	if q.js, err = jetstream.New(nc); err != nil {
		nc.Close()
		return nil, err
	}
	if err := q.ensureStream(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return q, nil
}

// connect dials NATS; nats.Connect takes no ctx, so it runs aside and an
// ended ctx abandons it (closing the connection should it come late).
func connect(ctx context.Context, url, name string) (*nats.Conn, error) {
	type result struct {
		nc  *nats.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(url, nats.Name(name), nats.Timeout(5*time.Second),
			nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
			// Publishes made while NATS restarts wait in the client's
			// buffer and go out on reconnect; their acks are awaited.
			nats.ReconnectBufSize(8<<20))
		ch <- result{nc, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("queue %s: %w", url, r.err)
		}
		return r.nc, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// Close closes the connection.
func (q *Queue) Close() { q.nc.Close() }

// Partitions is how many partitions the stream has.
func (q *Queue) Partitions() int { return q.parts }

// Config is the queue's config, defaults filled in.
func (q *Queue) Config() Config { return q.cfg }

// ensureStream creates the stream with one subject wildcard per partition,
// or reads an existing one's partition count from its subjects.
func (q *Queue) ensureStream(ctx context.Context) error {
	subjects := make([]string, q.cfg.Partitions)
	for p := range subjects {
		subjects[p] = q.partSubject(p) + ".*"
	}
	s, err := q.js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        q.cfg.Stream,
		Description: "gown scan batches, one subject per partition (package queue)",
		Subjects:    subjects,
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     jetstream.FileStorage,
		Duplicates:  q.cfg.Duplicates,
		Discard:     jetstream.DiscardNew, // a full stream refuses the submitter, never drops work
		MaxMsgSize:  8 << 20,
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		s, err = q.js.Stream(ctx, q.cfg.Stream)
	}
	if err != nil {
		return fmt.Errorf("queue: stream %s: %w", q.cfg.Stream, err)
	}
	q.stream = s
	info, err := s.Info(ctx)
	if err != nil {
		return fmt.Errorf("queue: stream %s: %w", q.cfg.Stream, err)
	}
	for p, subj := range info.Config.Subjects {
		if subj != q.partSubject(p)+".*" {
			return fmt.Errorf("queue: stream %s has subject %q where gown expects %q: another stream of that name?",
				q.cfg.Stream, subj, q.partSubject(p)+".*")
		}
	}
	q.parts = len(info.Config.Subjects)
	if info.Config.Retention != jetstream.WorkQueuePolicy || q.parts == 0 {
		return fmt.Errorf("queue: stream %s is not a gown work queue", q.cfg.Stream)
	}
	return nil
}

// partSubject is the subject prefix of one partition: gown.batch.07.
func (q *Queue) partSubject(p int) string {
	return fmt.Sprintf("%s.%02d", q.cfg.Subject, p)
}

// subject is where one batch of a scan is published.
func (q *Queue) subject(p int, scan gown.ScanID) string {
	return q.partSubject(p) + "." + strconv.FormatInt(int64(scan), 10)
}

// parseSubject reads the partition and scan id back from a subject.
func (q *Queue) parseSubject(subj string) (int, gown.ScanID, error) {
	rest, ok := strings.CutPrefix(subj, q.cfg.Subject+".")
	part, scan, ok2 := strings.Cut(rest, ".")
	p, err1 := strconv.Atoi(part)
	id, err2 := strconv.ParseInt(scan, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil || p < 0 || p >= q.parts || id <= 0 {
		return 0, 0, fmt.Errorf("subject %q is not %s.PARTITION.SCAN", subj, q.cfg.Subject)
	}
	return p, gown.ScanID(id), nil
}

// consumerName names a partition's durable consumer.
func (q *Queue) consumerName(p int) string {
	return fmt.Sprintf("%s-p%02d", strings.ToLower(q.cfg.Stream), p)
}

// msgID is a batch's Nats-Msg-Id, gown-SCAN-BEGAN-BATCH: the stream drops
// a second publish of it within its duplicates window. BEGAN, the scan's
// start time, tells apart two scans of one id: a results store made anew
// numbers its scans from 1 again, and its scan 1 must not be taken for the
// old one's and dropped.
func msgID(scan gown.ScanID, began time.Time, batch int64) string {
	return fmt.Sprintf("gown-%d-%x-%d", scan, began.UnixNano(), batch)
}

// parseMsgID reads the batch id back from a message id.
func parseMsgID(id string, scan gown.ScanID) (int64, bool) {
	rest, ok := strings.CutPrefix(id, fmt.Sprintf("gown-%d-", scan))
	i := strings.LastIndexByte(rest, '-')
	if !ok || i < 0 {
		return 0, false
	}
	b, err := strconv.ParseInt(rest[i+1:], 10, 64)
	return b, err == nil && b > 0
}

// Partition is the partition of a target: a hash of the address it dials
// (the host name when unresolved), so that every target of one address
// falls in one partition, whatever its port.
func Partition(t gown.Target, n int) int {
	h := fnv.New32a()
	if t.Addr.IsValid() {
		h.Write(t.Addr.AsSlice())
	} else {
		h.Write([]byte(strings.ToLower(t.Host)))
	}
	return int(h.Sum32() % uint32(n))
}

// Cancel cancels a queued scan: the ledger marks it cancelled (workers drop
// its batches as they take them up and stop those running at their next
// heartbeat) and the scan's queued batches are purged from the stream.
func (q *Queue) Cancel(ctx context.Context, l gown.Ledger, scan gown.ScanID) (gown.QueueState, error) {
	st, err := l.Cancel(ctx, scan)
	if err != nil {
		return st, err
	}
	if err := q.stream.Purge(ctx, jetstream.WithPurgeSubject(fmt.Sprintf("%s.*.%d", q.cfg.Subject, scan))); err != nil {
		return st, fmt.Errorf("queue: purge scan %d: %w", scan, err)
	}
	return st, nil
}

// Pending counts the messages the stream holds: queued batches, and those
// delivered but not yet acknowledged.
func (q *Queue) Pending(ctx context.Context) (uint64, error) {
	info, err := q.stream.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("queue: stream %s: %w", q.cfg.Stream, err)
	}
	return info.State.Msgs, nil
}
