package mqtt

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
)

// sampleWindow is how long sampling listens when it has to connect again
// (a result that carries nothing Probe heard): the retained messages are
// each topic's last message already, so a short window only adds live
// topics that keep no retained message.
const sampleWindow = time.Second

// What Probe keeps of what it heard, for Sample: sampling takes 5 records
// a topic and 256 KiB a host by default, so a few more than that is all a
// larger --sample-per-collection could want.
const (
	heldPerTopic = 32
	heldBytes    = 1 << 20
)

// heard is what Probe's session delivered outside $SYS, bounded, kept on
// the result (Result.Heard) so an open broker is listened to once a scan,
// not once to probe and again to sample.
type heard struct {
	msgs     []message
	perTopic map[string]int
	bytes    int
}

// keep copies one message, within heldPerTopic and heldBytes; it never
// stops the session.
func (h *heard) keep(m message) error {
	if database(m.topic) == "$SYS" || h.perTopic[m.topic] >= heldPerTopic || h.bytes+len(m.payload) > heldBytes {
		return nil
	}
	h.perTopic[m.topic]++
	h.bytes += len(m.payload)
	m.payload = bytes.Clone(m.payload)
	h.msgs = append(h.msgs, m)
	return nil
}

var _ probe.Sampler = (*Prober)(nil)

// Sample hands each message on as a record: the topic's first level is the
// database, the topic the collection and the key, a JSON payload its
// fields, any other payload one field "value". It hands on what Probe
// heard; only a result without that (one Probe did not make) connects
// again, subscribes to "#" alone (the broker's $SYS statistics hold no user
// data) and listens for sampleWindow, sending the same read-only packets
// as Probe.
func (p *Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	if r.Inventory == nil || r.Inventory.Items == 0 {
		return nil
	}
	toSample := func(m message) error {
		if database(m.topic) == "$SYS" {
			return nil
		}
		return emit(gown.Sample{Database: database(m.topic), Collection: m.topic, Key: m.topic, Fields: flatten.Body(m.payload)})
	}
	var err error
	if h, ok := r.Heard.(*heard); ok {
		for _, m := range h.msgs {
			if err = toSample(m); err != nil {
				break
			}
		}
	} else {
		window := min(p.window(), sampleWindow)
		_, _, err = session(ctx, t, d, r.TLS.Mode == gown.TLSRequired, window, toSample)
	}
	if errors.Is(err, probe.ErrSampleFull) {
		return nil
	}
	return err
}
