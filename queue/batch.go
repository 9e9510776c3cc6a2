package queue

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// Batch is one message on the stream: targets of one partition of one scan.
// Targets are typed (gown.Target as JSON), expanded and resolved by the
// submitter, so that a worker probes exactly what a local scan would.
type Batch struct {
	Scan      gown.ScanID   `json:"scan"`
	ID        int64         `json:"batch"`
	Partition int           `json:"partition"`
	Targets   []gown.Target `json:"targets"`
}

// decodeBatch reads a message body and checks it against its subject.
func decodeBatch(data []byte, scan gown.ScanID, part int) (*Batch, error) {
	var b Batch
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, fmt.Errorf("decode batch: %w", err)
	}
	switch {
	case b.Scan != scan || b.Partition != part:
		return nil, fmt.Errorf("batch of scan %d partition %d published as scan %d partition %d", b.Scan, b.Partition, scan, part)
	case b.ID <= 0 || len(b.Targets) == 0:
		return nil, fmt.Errorf("batch %d with %d targets", b.ID, len(b.Targets))
	}
	for _, t := range b.Targets {
		if t.Host == "" || t.Port < 1 || t.Port > 65535 {
			return nil, fmt.Errorf("batch %d: target %q: %w", b.ID, t, gown.ErrBadTarget)
		}
	}
	return &b, nil
}

// Options are a queued scan's probing settings, which every worker applies
// to its batches: the submitter's flags, kept in the ledger once per scan
// rather than in every message. What depends on the worker's machine (how
// many targets at once, the source address) is the worker's own.
type Options struct {
	// Probers lists the probers to run; empty runs every one.
	Probers []string `json:"probers,omitempty"`
	// KeepClosed keeps closed and filtered targets as results (--all).
	KeepClosed bool `json:"keep_closed,omitempty"`
	Detect     bool `json:"detect"`
	PerHost    int  `json:"per_host"`
	// Rate is the new connections per second across the whole scan; each
	// partition gets Rate / partitions, so the sum over all workers stays
	// within it whatever their number (0: no limit).
	Rate           float64            `json:"rate,omitempty"`
	Timeout        time.Duration      `json:"timeout"`
	ConnectTimeout time.Duration      `json:"connect_timeout"`
	IOTimeout      time.Duration      `json:"io_timeout"`
	MaxRead        int64              `json:"max_read"`
	Sample         probe.SampleLimits `json:"sample"`
}

// OptionsOf takes a scan's options from its probe config, its probers and
// whether it keeps closed targets.
func OptionsOf(c probe.Config, probers []string, keepClosed bool) Options {
	return Options{Probers: probers, KeepClosed: keepClosed, Detect: c.Detect, PerHost: c.PerHost,
		Rate: c.Dialer.Rate, Timeout: c.Timeout, ConnectTimeout: c.Dialer.ConnectTimeout,
		IOTimeout: c.Dialer.IOTimeout, MaxRead: c.Dialer.MaxRead, Sample: c.Sample}
}

// encode is the options as the ledger keeps them.
func (o Options) encode() (string, error) {
	b, err := json.Marshal(o)
	return string(b), err
}

func decodeOptions(s string) (Options, error) {
	var o Options
	if err := json.Unmarshal([]byte(s), &o); err != nil {
		return o, fmt.Errorf("scan options: %w", err)
	}
	if o.PerHost < 0 || o.Rate < 0 || o.Timeout < 0 {
		return o, errors.New("scan options: negative limits")
	}
	return o, nil
}

// probeConfig is the engine config of one batch of n targets on this
// worker: the scan's options, the worker's pool (no more workers than
// targets) and source, and the partition's share of the scan's rate.
func (o Options) probeConfig(n, workers int, source netip.Addr, partitions int) probe.Config {
	c := probe.Config{Workers: max(1, min(n, workers)), PerHost: o.PerHost, Timeout: o.Timeout, Detect: o.Detect,
		Sample: o.Sample, Dialer: probe.DialerConfig{ConnectTimeout: o.ConnectTimeout, IOTimeout: o.IOTimeout,
			MaxRead: o.MaxRead, Source: source}}
	if o.Rate > 0 {
		c.Dialer.Rate = o.Rate / float64(partitions)
	}
	return c
}
