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

// sampleWindow is how long sampling listens after the retained messages:
// the retained ones are each topic's last message already, so a short
// window only adds live topics that keep no retained message.
const sampleWindow = time.Second

var _ probe.Sampler = (*Prober)(nil)

// Sample connects again, subscribes to "#" only (the broker's $SYS
// statistics hold no user data) and hands each message on as a record:
// the topic's first level is the database, the topic the collection and
// the key, a JSON payload its fields, any other payload one field "value".
// It sends the same read-only packets as Probe.
func (p *Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	if r.Inventory == nil || r.Inventory.Items == 0 {
		return nil
	}
	window := min(p.window(), sampleWindow)
	_, _, err := session(ctx, t, d, r.TLS.Mode == gown.TLSRequired, window, func(m message) error {
		if database(m.topic) == "$SYS" {
			return nil
		}
		return emit(gown.Sample{Database: database(m.topic), Collection: m.topic, Key: m.topic, Fields: payloadFields(m.payload)})
	})
	if errors.Is(err, probe.ErrSampleFull) {
		return nil
	}
	return err
}

// payloadFields flattens a JSON object or array payload; anything else is
// one field "value", cut to flatten.MaxValue.
func payloadFields(v []byte) []gown.Field {
	if t := bytes.TrimSpace(v); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		if fs, err := flatten.JSON("", t); err == nil && len(fs) > 0 {
			return fs
		}
	}
	if len(v) > flatten.MaxValue {
		v = v[:flatten.MaxValue]
	}
	return []gown.Field{{Path: "value", Value: string(v)}}
}
