// Package couchbase checks whether a Couchbase Server cluster manager (REST
// port 8091; TLS on 18091) lists its buckets without credentials.
//
// It follows the Couchbase Server REST API
// (https://docs.couchbase.com/server/current/rest-api/rest-intro.html) and
// sends at most two requests, each on its own connection with
// Connection: close, over TLS on 18091 or for a target from an https URL:
//
//	GET /pools HTTP/1.1                    cluster identity and version
//	GET /pools/default/buckets HTTP/1.1    the bucket list, only once /pools
//	                                       showed a Couchbase Server
//
// with Host, User-Agent: gown and Accept: application/json headers and no
// credentials. gown never writes. The data port (11210, memcached binary
// protocol with SASL) is out of scope.
//
// Verdicts: a /pools reply carrying implementationVersion or
// componentsVersion.ns_server identifies Couchbase Server (Version is
// implementationVersion). A 401 with Couchbase's realm on /pools or on the
// bucket list means auth-required; a 403 on the bucket list means
// restricted; a 200 list of buckets means open, and the inventory holds one
// entry per bucket (at most 100) with basicStats.itemCount as Items and
// basicStats.diskUsed as Bytes. An empty list is open only when /pools said
// the anonymous caller holds admin rights; otherwise it cannot tell
// "nothing readable" from "nothing there" and says unknown. A node that was
// never initialised (no pool) holds no data and is unknown, with
// initialized=false. Anything that is not Couchbase's answer is not-service.
//
// Result.Details keys: http_status (of the bucket list), admin_creds,
// enterprise, ns_server, initialized, error (a redacted server message).
// Result.Facts: Admin when /pools says the anonymous caller holds admin
// rights (isAdminCreds).
package couchbase

import (
	"context"
	"errors"
	"fmt"
	"github.com/gownscan/gown/probe/httpget"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

var _ probe.Prober = (*Prober)(nil)

// The requests, in the order they are sent.
const (
	poolsPath   = "/pools"
	bucketsPath = "/pools/default/buckets"
)

const (
	restPort = 8091
	tlsPort  = 18091
)

// product names what answered once /pools identified it.
const product = "Couchbase Server"

// Prober checks Couchbase Server. The zero value is ready to use.
type Prober struct{}

// New returns a Couchbase prober.
func New() *Prober { return &Prober{} }

// kind is Couchbase's descriptor. The schemes name the REST port this
// prober checks (8091, TLS 18091), not the data port an SDK's
// couchbase:// string means (11210): a cluster that serves one serves both.
var kind = gown.StoreKind{
	Name:    "couchbase",
	Ports:   []int{restPort, tlsPort},
	Schemes: []gown.Scheme{{Name: "couchbase", Port: restPort}, {Name: "couchbases", Port: tlsPort, TLS: true}},
}

// Kind describes Couchbase Server: ports 8091 and 18091 (TLS), schemes
// couchbase and couchbases (TLS).
func (*Prober) Kind() gown.StoreKind { return kind }

// Probe identifies the cluster from /pools and, when it is Couchbase, asks
// for the bucket list without credentials.
func (*Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	useTLS := t.TLS || t.Port == tlsPort
	x, err := get(ctx, t, d, useTLS, poolsPath)
	if err != nil {
		return failed(ctx, t, poolsPath, x, err)
	}
	r := &gown.Result{Target: t, Store: "couchbase", Evidence: x.Evidence}
	r.TLS.Mode = gown.TLSNone
	if x.TLS != nil {
		r.TLS = *x.TLS
		// Couchbase serves TLS and plaintext on separate ports.
		r.TLS.Mode = gown.TLSRequired
	}
	info, known := judgePools(r, x.Reply)
	if !known {
		return r, nil
	}
	y, err := get(ctx, t, d, useTLS, bucketsPath)
	r.Evidence = append(r.Evidence, y.Evidence...)
	if err != nil {
		// Identified, but the verdict needs the bucket list.
		err = fmt.Errorf("couchbase GET %s on %s: %w", bucketsPath, t, err)
		r.Status, r.Reason = gown.StatusUnknown, "Couchbase Server, but the bucket list did not answer"
		r.Error = err.Error()
		return r, nil
	}
	judgeBuckets(r, y.Reply, info)
	return r, nil
}

// get sends one GET. A TLS listener's 400 page is an HTTP reply like any
// other here: it is judged (it is not Couchbase's), not taken as a cue to
// switch to TLS, which the port and the URL already decided.
func get(ctx context.Context, t gown.Target, d probe.Dialer, useTLS bool, path string) (*httpget.Exchange, error) {
	x, err := httpget.Get(ctx, d, t, useTLS, path)
	if errors.Is(err, httpget.ErrTLSAnswer) && x.Reply != nil {
		err = nil
	}
	return x, err
}

// failed turns a failed /pools exchange into Probe's return values: a
// not-service result when something other than HTTP answered, else no
// verdict.
func failed(ctx context.Context, t gown.Target, path string, x *httpget.Exchange, err error) (*gown.Result, error) {
	err = fmt.Errorf("couchbase GET %s on %s: %w", path, t, err)
	if (errors.Is(err, gown.ErrNotService) || errors.Is(err, httpget.ErrTLSAnswer)) && ctx.Err() == nil {
		return &gown.Result{Target: t, Store: "couchbase", Status: gown.StatusNotService,
			Reason: "answered, but not in HTTP", Error: err.Error(), Evidence: x.Evidence}, nil
	}
	return nil, err
}
