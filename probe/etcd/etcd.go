// Package etcd checks whether an etcd server (client port 2379) lets an
// anonymous client read its keys through the v3 API.
//
// It speaks to etcd's gRPC gateway, the JSON face of the v3 API that every
// etcd 3.4 and later serves on the client port beside gRPC
// (https://etcd.io/docs/v3.4/dev-guide/api_grpc_gateway/), rather than link
// go.etcd.io/etcd/client/v3: that client brings gRPC, dials on its own and
// keeps connections and watches alive in the background, none of which
// could pass probe.Dialer's caps, deadlines and evidence. Each request goes
// on its own connection with Connection: close, over TLS for a target from
// an https URL:
//
//	GET  /version                 identity and version (answered without auth)
//	POST /v3/kv/range             {"key":"AA==","range_end":"AA==","count_only":true}:
//	                              how many keys; the verdict
//	POST /v3/kv/range             {"key":"AA==","range_end":"AA==","keys_only":true,"limit":1000}:
//	                              the key names, only when the count was read
//	POST /v3/maintenance/status   the database size, only when open
//
// Range and Status are reads: etcd's own metrics count them as such
// (etcd_mvcc_range_total), and gown never calls Put, DeleteRange, Txn,
// Compact, Lease or any auth or cluster method. The keys "AA==" (a zero
// byte) as key and range_end mean every key.
//
// Verdicts: /version with "etcdserver" identifies etcd. A 200 range reply
// is open: the inventory has one database per first key segment ("/users/1"
// and "users/1" are in "users", a key without "/" is its own), items are
// keys, and the store's bytes are dbSizeInUse from status. Range refused
// with "user name is empty", "invalid auth token" or gRPC code 16
// (Unauthenticated) is auth-required; "permission denied" (code 7) is
// restricted. Anything that is not etcd's answer is not-service.
//
// Result.Details keys: etcdcluster, http_status (of the range), error (a
// redacted server message), db_size, revision.
package etcd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/httpget"
)

const port = 2379

// The requests, as paths and bodies.
const (
	versionPath = "/version"
	rangePath   = "/v3/kv/range"
	statusPath  = "/v3/maintenance/status"
	countBody   = `{"key":"AA==","range_end":"AA==","count_only":true}`
)

// maxKeys caps the key names listed for the inventory; past it the
// inventory is marked truncated and the total comes from the count.
const maxKeys = 1000

// Prober checks etcd. The zero value is ready to use.
type Prober struct{}

var _ probe.Prober = (*Prober)(nil)

// New returns an etcd prober.
func New() *Prober { return &Prober{} }

// kind is etcd's descriptor. Apps name etcd by http(s)://host:2379; the
// etcd scheme is for typing.
var kind = gown.StoreKind{
	Name:    "etcd",
	Ports:   []int{port},
	Schemes: []gown.Scheme{{Name: "etcd", Port: port}},
}

// Kind describes etcd: port 2379, scheme etcd.
func (*Prober) Kind() gown.StoreKind { return kind }

// Probe identifies etcd from /version, then counts the keys without
// credentials.
func (*Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	tt := t // the target as reached: TLS set when the port turned out to want it
	x, err := httpget.Get(ctx, d, t, t.TLS, versionPath)
	if !t.TLS && ctx.Err() == nil && (errors.Is(err, httpget.ErrTLSAnswer) || errors.Is(err, httpget.ErrSilent)) {
		// etcd serving https on its client port answers plaintext with Go's
		// "HTTP request to an HTTPS server" page: ask again over TLS.
		tt.TLS = true
		if y, yerr := httpget.Get(ctx, d, tt, true, versionPath); yerr == nil {
			y.Evidence = append(x.Evidence, y.Evidence...)
			x, err = y, nil
		}
	}
	if err != nil {
		err = fmt.Errorf("etcd GET %s on %s: %w", versionPath, t, err)
		if (errors.Is(err, gown.ErrNotService) || errors.Is(err, httpget.ErrTLSAnswer)) && ctx.Err() == nil {
			return &gown.Result{Target: t, Store: "etcd", Status: gown.StatusNotService,
				Reason: "answered, but not in HTTP", Error: err.Error(), Evidence: x.Evidence}, nil
		}
		return nil, err
	}
	r := &gown.Result{Target: t, Store: "etcd", Evidence: x.Evidence, TLS: gown.TLS{Mode: gown.TLSNone}}
	if x.TLS != nil {
		r.TLS = *x.TLS
		r.TLS.Mode = gown.TLSRequired
	}
	var v struct {
		Server  string `json:"etcdserver"`
		Cluster string `json:"etcdcluster"`
	}
	if x.Reply.Status != 200 || json.Unmarshal(x.Reply.Body, &v) != nil || v.Server == "" {
		r.Status, r.Reason = gown.StatusNotService, fmt.Sprintf("GET /version answered %d without etcd's version", x.Reply.Status)
		return r, nil
	}
	r.Product, r.Version = "etcd", v.Server
	r.Detail("etcdcluster", v.Cluster)

	y, err := httpget.PostQuery(ctx, d, tt, tt.TLS, rangePath, countBody)
	r.Evidence = append(r.Evidence, y.Evidence...)
	if err != nil {
		r.Status, r.Reason = gown.StatusUnknown, "etcd, but the v3 range did not answer"
		r.Error = fmt.Sprintf("etcd POST %s on %s: %v", rangePath, t, err)
		return r, nil
	}
	count, ok := judgeRange(r, y.Reply)
	if !ok {
		return r, nil
	}
	if err := inventory(ctx, tt, d, r, count); err != nil {
		r.Error = err.Error()
	}
	return r, nil
}

// rangeReply is what /v3/kv/range answers: int64 fields come as strings,
// bytes as base64, as the gateway's JSON mapping of protobuf has them.
type rangeReply struct {
	Header struct {
		Revision string `json:"revision"`
	} `json:"header"`
	KVs []struct {
		Key   []byte `json:"key"`
		Value []byte `json:"value"`
	} `json:"kvs"`
	More  bool   `json:"more"`
	Count string `json:"count"`
}

// gatewayError is the gateway's error body.
type gatewayError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Code    int    `json:"code"`
}

// judgeRange sets the verdict from the count reply and returns the count
// when open.
func judgeRange(r *gown.Result, rep *httpget.Reply) (uint64, bool) {
	r.Detail("http_status", strconv.Itoa(rep.Status))
	if rep.Status == 200 {
		var rr rangeReply
		if err := json.Unmarshal(rep.Body, &rr); err != nil {
			r.Status, r.Reason = gown.StatusUnknown, "the v3 range answered 200 with a body that is not its JSON"
			return 0, false
		}
		n, err := strconv.ParseUint(orZero(rr.Count), 10, 64)
		if err != nil {
			r.Status, r.Reason = gown.StatusUnknown, "the v3 range answered 200 without a key count"
			return 0, false
		}
		r.Status, r.Reason = gown.StatusOpen, "the v3 range read every key without credentials"
		r.Detail("revision", rr.Header.Revision)
		return n, true
	}
	var e gatewayError
	json.Unmarshal(rep.Body, &e)
	msg := e.Error
	if msg == "" {
		msg = e.Message
	}
	if msg != "" {
		r.Detail("error", msg)
	}
	switch {
	case e.Code == 16 || msg == "etcdserver: user name is empty" || msg == "etcdserver: invalid auth token" || rep.Status == 401:
		r.Status, r.Reason = gown.StatusAuthRequired, "the v3 range refused an anonymous client: "+orDash(msg)
	case e.Code == 7 || msg == "etcdserver: permission denied" || rep.Status == 403:
		r.Status, r.Reason = gown.StatusRestricted, "the v3 range was refused to this client: "+orDash(msg)
	case rep.Status == 404:
		r.Status, r.Reason = gown.StatusUnknown, "etcd without the v3 gateway on this port (404 on /v3/kv/range)"
	default:
		r.Status, r.Reason = gown.StatusUnknown, fmt.Sprintf("the v3 range answered %d: %s", rep.Status, orDash(msg))
	}
	return 0, false
}

// orZero reads an omitted int64 (proto3 leaves zero out) as "0".
func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
