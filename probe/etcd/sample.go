package etcd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
	"github.com/gownscan/gown/probe/httpget"
)

var _ probe.Sampler = (*Prober)(nil)

// Sample lists the key names again (the same keys_only range as the
// probe), then reads K values of each database with one bounded range over
// its prefix ({"key": prefix, "range_end": prefix+1, "limit": K}), or the
// key itself for a database that is one key. A JSON value is flattened into
// fields; any other is one field "value".
func (*Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	if r.Inventory == nil || r.Inventory.Items == 0 {
		return nil
	}
	t.TLS = t.TLS || r.TLS.Mode == gown.TLSRequired
	x, err := httpget.PostQuery(ctx, d, t, t.TLS, rangePath, keysBody)
	if err != nil {
		return fmt.Errorf("etcd POST %s (keys) on %s: %w", rangePath, t, err)
	}
	var rr rangeReply
	if x.Reply.Status != 200 || json.Unmarshal(x.Reply.Body, &rr) != nil {
		return fmt.Errorf("etcd POST %s (keys) on %s: answered %d", rangePath, t, x.Reply.Status)
	}
	type span struct{ db, key, end string }
	var spans []span
	seen := map[string]bool{}
	for _, kv := range rr.KVs {
		k := string(kv.Key)
		db := database(k)
		if seen[db] {
			continue
		}
		seen[db] = true
		lead, rest := "", k
		if strings.HasPrefix(k, "/") {
			lead, rest = "/", k[1:]
		}
		if first, _, found := strings.Cut(rest, "/"); found && first != "" {
			prefix := lead + first + "/"
			spans = append(spans, span{db, prefix, prefixEnd(prefix)})
		} else {
			spans = append(spans, span{db: db, key: k})
		}
		if len(spans) > lim.Collections {
			break
		}
	}
	for _, s := range spans {
		body := fmt.Sprintf(`{"key":%q,"limit":%d}`, b64(s.key), lim.PerCollection)
		if s.end != "" {
			body = fmt.Sprintf(`{"key":%q,"range_end":%q,"limit":%d}`, b64(s.key), b64(s.end), lim.PerCollection)
		}
		y, err := httpget.PostQuery(ctx, d, t, t.TLS, rangePath, body)
		if err != nil {
			return fmt.Errorf("etcd POST %s (values) on %s: %w", rangePath, t, err)
		}
		var vr rangeReply
		if y.Reply.Status != 200 || json.Unmarshal(y.Reply.Body, &vr) != nil {
			continue // refused or cut: this database gives nothing to sample
		}
		for _, kv := range vr.KVs {
			err := emit(gown.Sample{Database: s.db, Key: string(kv.Key), Fields: flatten.Body(kv.Value)})
			if errors.Is(err, probe.ErrSampleFull) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// prefixEnd is the range end that covers every key with prefix p: p with
// its last byte incremented (p ends in "/", so never 0xff).
func prefixEnd(p string) string {
	b := []byte(p)
	b[len(b)-1]++
	return string(b)
}
