package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/httpget"
)

// keysBody lists key names only, at most maxKeys of them.
var keysBody = fmt.Sprintf(`{"key":"AA==","range_end":"AA==","keys_only":true,"limit":%d}`, maxKeys)

// database is a key's first segment: "/users/u1" and "users/u1" are in
// "users"; a key without "/" past its first byte is its own.
func database(key string) string {
	k := strings.TrimPrefix(key, "/")
	first, _, _ := strings.Cut(k, "/")
	if first == "" {
		return "/"
	}
	return first
}

// inventory lists the key names (at most maxKeys) and the database size,
// over TLS when t.TLS. The verdict stands whatever fails here.
func inventory(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, count uint64) error {
	inv := &gown.Inventory{}
	r.Inventory = inv
	x, err := httpget.PostQuery(ctx, d, t, t.TLS, rangePath, keysBody)
	r.Evidence = append(r.Evidence, x.Evidence...)
	if err != nil {
		inv.Items, inv.Truncated = count, true
		return fmt.Errorf("etcd POST %s (keys) on %s: %w", rangePath, t, err)
	}
	var rr rangeReply
	if x.Reply.Status != 200 || x.Reply.Truncated || json.Unmarshal(x.Reply.Body, &rr) != nil {
		inv.Items, inv.Truncated = count, true
		return fmt.Errorf("etcd POST %s (keys) on %s: answered %d (%d bytes, cut %t)", rangePath, t, x.Reply.Status, len(x.Reply.Body), x.Reply.Truncated)
	}
	per := map[string]uint64{}
	for _, kv := range rr.KVs {
		per[database(string(kv.Key))]++
	}
	names := make([]string, 0, len(per))
	for n := range per {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		inv.Add(gown.Database{Name: n, Items: per[n]})
	}
	if rr.More || uint64(len(rr.KVs)) < count {
		inv.Items, inv.Truncated = count, true
	}

	y, err := httpget.PostQuery(ctx, d, t, t.TLS, statusPath, "{}")
	r.Evidence = append(r.Evidence, y.Evidence...)
	if err != nil {
		return fmt.Errorf("etcd POST %s on %s: %w", statusPath, t, err)
	}
	var st struct {
		DBSize      string `json:"dbSize"`
		DBSizeInUse string `json:"dbSizeInUse"`
	}
	if y.Reply.Status != 200 || json.Unmarshal(y.Reply.Body, &st) != nil {
		return fmt.Errorf("etcd POST %s on %s: answered %d", statusPath, t, y.Reply.Status)
	}
	size := st.DBSizeInUse
	if size == "" {
		size = st.DBSize // etcd before 3.4 reports no size in use
	}
	if n, err := strconv.ParseUint(size, 10, 64); err == nil {
		inv.Bytes = n // the whole store's own figure wins over the sum
		r.Detail("db_size", st.DBSize)
	}
	return nil
}
