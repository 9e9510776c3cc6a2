// Package kibana checks whether a Kibana (5601) lets anyone in without a
// login, which opens the Elasticsearch cluster behind it to the same
// visitor.
//
// It speaks HTTP/1.1 (RFC 9112) by hand over probe.Conn and follows Kibana's
// status API (https://www.elastic.co/guide/en/kibana/current/access.html).
// It sends exactly one read-only request:
//
//	GET /api/status HTTP/1.1\r\nHost: H\r\nUser-Agent: gown\r\nAccept: application/json\r\nConnection: close\r\n\r\n
//
// Verdicts: 200 with JSON version.number is open (the UI answers without
// login); 200 with only status.overall, the redacted reply Kibana 8 gives
// unauthenticated visitors when status.allowAnonymous is set, is restricted;
// 401, or a 302 to the login page, is auth-required; any other HTTP reply is
// not-service, and a reply that is not HTTP is gown.ErrNotService. TLS is
// tried when the plaintext request is dropped without a word or answered
// with a TLS record or "400 ... HTTPS port", and first for https:// targets.
//
// Result.Details keys: name (the kbn-name header or JSON name), overall
// (status.overall.level, or .state on Kibana 6), location (of a redirect).
package kibana

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gownscan/gown/probe/httpget"
	"net/http"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

const (
	pathStatus = "/api/status"
	port       = 5601
)

// Prober checks Kibana. The zero value is ready to use.
type Prober struct{}

var _ probe.Prober = (*Prober)(nil)

// New returns a Kibana prober.
func New() *Prober { return &Prober{} }

// kind is Kibana's descriptor: no URL scheme names it.
var kind = gown.StoreKind{Name: "kibana", Ports: []int{port}, Schemes: []gown.Scheme{{Name: "kibana", Port: port}}}

// Kind describes Kibana: port 5601, its default, and the kibana:// scheme
// that names it on another port.
func (*Prober) Kind() gown.StoreKind { return kind }

// Probe asks GET /api/status and says whether the UI answers without login.
func (p *Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	r := &gown.Result{Target: t, Store: "kibana"}
	useTLS := t.TLS
	ex, err := httpget.Get(ctx, d, t, useTLS, pathStatus)
	if err != nil && !useTLS && ctx.Err() == nil && (errors.Is(err, httpget.ErrSilent) || errors.Is(err, httpget.ErrTLSAnswer)) {
		if ex != nil {
			r.Evidence = append(r.Evidence, ex.Evidence...)
		}
		useTLS = true
		ex, err = httpget.Get(ctx, d, t, true, pathStatus)
	}
	if ex != nil {
		r.Evidence = append(r.Evidence, ex.Evidence...)
		if ex.TLS != nil {
			r.TLS = *ex.TLS
		}
	}
	if err != nil {
		return nil, fmt.Errorf("kibana GET %s on %s: %w", pathStatus, t, err)
	}
	// Kibana serves HTTP or HTTPS on its port, never both.
	r.TLS.Mode = gown.TLSNone
	if useTLS {
		r.TLS.Mode = gown.TLSRequired
	}
	verdict(r, ex.Reply)
	return r, nil
}

// status is the part of /api/status gown reads.
type status struct {
	Name    string `json:"name"`
	Version struct {
		Number string `json:"number"`
	} `json:"version"`
	Status struct {
		Overall struct {
			Level string `json:"level"` // Kibana 7.14+
			State string `json:"state"` // Kibana 6 and early 7
		} `json:"overall"`
	} `json:"status"`
}

// verdict reads the reply to GET /api/status.
func verdict(r *gown.Result, rp *httpget.Reply) {
	name := rp.Header.Get("kbn-name")
	switch {
	case rp.Status == http.StatusOK:
		var st status
		if json.Unmarshal(rp.Body, &st) != nil {
			r.Status, r.Reason = gown.StatusNotService, "HTTP answers /api/status with something other than Kibana's status JSON"
			return
		}
		overall := st.Status.Overall.Level + st.Status.Overall.State
		if name == "" {
			name = st.Name
		}
		switch {
		case st.Version.Number != "":
			r.Product, r.Version = "Kibana", st.Version.Number
			r.Status, r.Reason = gown.StatusOpen, "Kibana UI open without login: /api/status answers anyone with its version"
		case overall != "":
			r.Product = "Kibana"
			r.Status, r.Reason = gown.StatusRestricted, "Kibana answers /api/status anonymously, but only the redacted overall level"
		default:
			r.Status, r.Reason = gown.StatusNotService, "HTTP answers /api/status with JSON that is not Kibana's"
		}
		if overall != "" {
			r.Detail("overall", overall)
		}
	case rp.Status == http.StatusUnauthorized:
		r.Status, r.Reason = gown.StatusAuthRequired, "Kibana asks for credentials (401 on /api/status)"
		if name != "" || strings.Contains(string(rp.Body), `"statusCode":401`) {
			r.Product = "Kibana"
		}
	case rp.Status == http.StatusFound || rp.Status == http.StatusSeeOther || rp.Status == http.StatusTemporaryRedirect:
		loc := rp.Header.Get("Location")
		r.Detail("location", loc)
		if strings.Contains(loc, "/login") {
			r.Product = "Kibana"
			r.Status, r.Reason = gown.StatusAuthRequired, "Kibana redirects /api/status to its login page"
			break
		}
		r.Status, r.Reason = gown.StatusNotService, fmt.Sprintf("HTTP redirects /api/status elsewhere (%d), not to a Kibana login", rp.Status)
	default:
		r.Status, r.Reason = gown.StatusNotService, fmt.Sprintf("HTTP answers /api/status with status %d, not Kibana", rp.Status)
	}
	if name != "" {
		r.Detail("name", name)
	}
}
