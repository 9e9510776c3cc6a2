package couchdb

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
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
	host   string // the Host header
	useTLS bool
	tls    *gown.TLS // the first handshake's facts

	res      *gown.Result
	evidence []gown.Evidence
	dropped  int // exchanges not kept, past maxEvidence
}

// get sends GET path on a fresh connection and reads the reply. When
// withhold is set, the reply body is left out of the evidence: the
// configuration holds the server's secrets, and _all_docs a document id,
// which may be personal data.
func (r *run) get(path string, withhold bool) (*reply, error) {
	conn, err := r.d.Dial(r.ctx, r.t)
	if err != nil {
		return nil, fmt.Errorf("couchdb GET %s on %s: %w", path, r.t, err)
	}
	defer conn.Close()
	// Runs before Close (deferred calls run last in, first out).
	defer func() { r.keep(conn.Evidence(), withhold) }()
	if r.useTLS {
		if err := conn.UpgradeTLS(probe.ServerName(r.t)); err != nil {
			return nil, fmt.Errorf("couchdb TLS on %s: %w: %w", r.t, errHandshake, err)
		}
		if r.tls == nil {
			r.tls = conn.TLS()
		}
	}
	conn.Step("GET " + path)
	_, werr := io.WriteString(conn, request(path, r.host))
	// The reply is read even when the write failed: a server that refuses
	// the request at once may have answered before closing.
	rep, err := readReply(bufio.NewReader(conn))
	if err != nil {
		if werr != nil && conn.BytesRead() == 0 {
			err = werr
		}
		return nil, fmt.Errorf("couchdb GET %s on %s: %w", path, r.t, err)
	}
	return rep, nil
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
