// Package mongodb checks whether a MongoDB server (27017; shard and config
// servers on 27018 and 27019), or anything speaking its wire protocol such
// as FerretDB, answers without authentication.
//
// It speaks the MongoDB wire protocol
// (https://www.mongodb.com/docs/manual/reference/mongodb-wire-protocol/):
// OP_MSG (opcode 2013) with one kind-0 body section, since MongoDB 6.0
// refuses legacy OP_QUERY commands. Only when a server gives OP_MSG no reply
// at all, or answers it with an OP_REPLY, as servers before 3.6 do, are the
// same commands sent as OP_QUERY on "<db>.$cmd". It sends only these
// read-only commands, each on the admin database unless said otherwise:
//
//	{hello: 1}                             always, first ({isMaster: 1} where hello is unknown or over OP_QUERY)
//	{buildInfo: 1}                         version; FerretDB adds ferretdbVersion
//	{listDatabases: 1, nameOnly: false}    the verdict, with sizeOnDisk per database and totalSize
//	{getLog: "startupWarnings"}            only when listDatabases lists nothing (see below)
//	{dbStats: 1} on each database          object and collection counts, for at most 20 databases
//
// Verdicts: a listing of databases without credentials means open; code 13
// (Unauthorized) means auth-required. A server with authentication on may
// answer listDatabases with ok:1 and an empty list, so an empty list is
// settled by getLog: code 13 there means auth-required, an answer means open
// but empty. A first reply that is not a MongoDB message is not-service.
// Plaintext is tried first; when the server closes the connection without a
// word, as a TLS-only server does, TLS follows (and the other way round for
// a target from a TLS URL).
//
// Replies are capped at 1 MiB each (checked on the announced length, before
// anything is allocated), must answer the request sent, and every BSON body
// is validated before a field is read.
//
// Result.Details keys: role (standalone, primary, secondary, arbiter,
// mongos), set_name, max_wire_version, mongodb_compat (FerretDB's MongoDB
// version), collections (summed over counted application databases),
// counted ("N of M databases" when not all were counted), framing=op_query
// for a pre-3.6 server, reply=http, tls or ssh when a non-MongoDB reply is
// recognised.
package mongodb

import (
	"context"
	"errors"
	"fmt"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// errHandshake marks a failed TLS handshake, after which plaintext is worth
// a try.
var errHandshake = errors.New("tls handshake failed")

// Prober checks MongoDB. The zero value is ready to use.
type Prober struct{}

var _ probe.Prober = (*Prober)(nil)

// New returns a MongoDB prober.
func New() *Prober { return &Prober{} }

// kind is MongoDB's descriptor: 27017 (mongod, mongos), 27018 (shard) and
// 27019 (config server). A mongodb+srv:// name is resolved through SRV
// records that, as MongoDB Atlas publishes them, imply TLS.
var kind = gown.StoreKind{
	Name:    "mongodb",
	Ports:   []int{27017, 27018, 27019},
	Schemes: []gown.Scheme{{Name: "mongodb", Port: 27017}, {Name: "mongodb+srv", Port: 27017, TLS: true}},
}

// Kind describes MongoDB: ports 27017-27019, schemes mongodb and mongodb+srv
// (TLS).
func (*Prober) Kind() gown.StoreKind { return kind }

// mode is how one attempt talks to the server.
type mode int

const (
	modePlain  mode = iota // OP_MSG over TCP
	modeTLS                // OP_MSG over TLS
	modeLegacy             // OP_QUERY over TCP, for servers before 3.6
)

// Probe greets the server, lists its databases, and says whether the data is
// readable without credentials.
func (p *Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	if t.TLS {
		a := try(ctx, t, d, modeTLS)
		if a.res != nil || !errors.Is(a.err, errHandshake) || ctx.Err() != nil {
			return a.finish(gown.TLSRequired)
		}
		return try(ctx, t, d, modePlain).finish(gown.TLSNone, a.evidence...)
	}
	a := try(ctx, t, d, modePlain)
	if ctx.Err() != nil {
		return a.finish(gown.TLSNone)
	}
	switch {
	case errors.Is(a.err, errSilent) || (a.res != nil && a.res.Details["reply"] == "tls"):
		b := try(ctx, t, d, modeTLS)
		if b.res == nil {
			return a.finish(gown.TLSNone) // TLS did not help: report what plaintext showed
		}
		return b.finish(gown.TLSRequired, a.evidence...)
	case a.res == nil && (errors.Is(a.err, errNoReply) || errors.Is(a.err, errLegacy)):
		b := try(ctx, t, d, modeLegacy)
		if b.res == nil {
			return a.finish(gown.TLSNone)
		}
		return b.finish(gown.TLSNone, a.evidence...)
	}
	return a.finish(gown.TLSNone)
}

// attempt is one connection's try.
type attempt struct {
	res      *gown.Result    // set when the peer answered in a way gown can place
	tls      *gown.TLS       // the handshake's facts, when TLS was used
	evidence []gown.Evidence // the exchanges, even when err is set
	err      error           // what stopped the attempt, or a later step
}

// finish turns an attempt into Probe's return values. earlier holds the
// evidence of attempts made before this one, so the record shows all of them.
func (a attempt) finish(tlsMode gown.TLSMode, earlier ...gown.Evidence) (*gown.Result, error) {
	if a.res == nil {
		return nil, a.err
	}
	r := a.res
	if a.tls != nil {
		r.TLS = *a.tls
	}
	if r.Status != gown.StatusNotService {
		r.TLS.Mode = tlsMode
	}
	r.Evidence = append(append([]gown.Evidence(nil), earlier...), a.evidence...)
	if a.err != nil {
		r.Error = a.err.Error()
	}
	return r, nil
}

// try dials once, upgrades to TLS if asked, and runs the command sequence.
func try(ctx context.Context, t gown.Target, d probe.Dialer, m mode) (a attempt) {
	conn, err := d.Dial(ctx, t)
	if err != nil {
		a.err = fmt.Errorf("mongodb dial %s: %w", t, err)
		return a
	}
	defer conn.Close()
	// Runs before Close (defers are last in, first out).
	defer func() { a.evidence = conn.Evidence() }()
	if m == modeTLS {
		if err := conn.UpgradeTLS(probe.ServerName(t)); err != nil {
			a.err = fmt.Errorf("mongodb TLS on %s: %w: %w", t, errHandshake, err)
			return a
		}
		a.tls = conn.TLS()
	}
	a.res, a.err = newSession(conn, t, m == modeLegacy).run()
	return a
}
