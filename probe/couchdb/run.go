package couchdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/httpget"
)

// maxEvidence caps the exchanges kept as evidence. A probe may send over a
// hundred requests (two per database); the first ones carry the verdict and
// a result must stay small.
const maxEvidence = 16

// run is one Probe call: how it reaches the server and what it found.
type run struct {
	ctx    context.Context
	t      gown.Target
	d      probe.Dialer
	useTLS bool
	tls    *gown.TLS // the first handshake's facts

	res      *gown.Result
	evidence []gown.Evidence
	dropped  int // exchanges not kept, past maxEvidence
}

// get sends GET path on a fresh connection and reads the reply. When
// withhold is set, the reply body is left out of the evidence: the
// configuration holds the server's secrets, and _all_docs a document id,
// which may be personal data. Every answer gown reads here is needed whole
// (a listing, a configuration, a database's counts), so a body cut short is
// an error.
func (r *run) get(path string, withhold bool) (*httpget.Reply, error) {
	ex, err := httpget.Get(r.ctx, r.d, r.t, r.useTLS, path)
	r.keep(ex.Evidence, withhold)
	if r.tls == nil {
		r.tls = ex.TLS
	}
	if err == nil && ex.Reply.BodyErr != nil {
		err = ex.Reply.BodyErr
	}
	if err != nil {
		return nil, fmt.Errorf("couchdb GET %s on %s: %w", path, r.t, err)
	}
	return ex.Reply, nil
}

// statusText is a reply's status for Details and reasons: "HTTP 401".
func statusText(rep *httpget.Reply) string {
	if rep == nil {
		return "no reply"
	}
	return "HTTP " + strconv.Itoa(rep.Status)
}

// keep adds a connection's exchanges to the evidence, up to maxEvidence.
func (r *run) keep(ev []gown.Evidence, withhold bool) {
	for _, e := range ev {
		if len(r.evidence) >= maxEvidence {
			r.dropped++
			continue
		}
		if withhold {
			e.Received = headersOnly(e.Received)
		}
		r.evidence = append(r.evidence, e)
	}
}

// headersOnly cuts a recorded reply after its header block.
func headersOnly(received string) string {
	// The evidence is escaped text, so the blank line shows as escapes;
	// accept both forms.
	for _, sep := range []string{`\r\n\r\n`, "\r\n\r\n"} {
		if i := strings.Index(received, sep); i >= 0 {
			return received[:i+len(sep)] + "[body withheld]"
		}
	}
	return received
}
