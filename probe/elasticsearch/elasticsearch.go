// Package elasticsearch checks whether an Elasticsearch or OpenSearch
// cluster (9200; TLS customarily on 9243) lets anyone read its data, the
// store behind most of the open mobile back ends the HospitalGown research
// found.
//
// It speaks HTTP/1.1 (RFC 9112) by hand over probe.Conn, one request per
// connection, and follows the Elasticsearch REST API
// (https://www.elastic.co/guide/en/elasticsearch/reference/current/rest-apis.html).
// It sends only these read-only requests, each as
// "GET PATH HTTP/1.1\r\nHost: H\r\nUser-Agent: gown\r\nAccept: application/json\r\nConnection: close\r\n\r\n":
//
//	GET /                                                         always, first
//	GET /_cat/indices?format=json&bytes=b&h=index,health,status,docs.count,store.size
//	                                                              when / is Elasticsearch, 401 or 403
//	GET /_cluster/stats?filter_path=indices.count,indices.docs.count,indices.store.size_in_bytes
//	                                                              only when the listing is open
//	GET /_search?source_content_type=application/json&source={"size":1,"_source":false,
//	    "track_total_hits":true,"aggs":{"per_index":{"terms":{"field":"_index","size":200}}}}
//	                                                              only when GET / or the listing is refused (401, 403)
//
// Verdicts come from the data path, never from the banner alone, because a
// secured cluster may still answer GET / anonymously: a 200 array from
// _cat/indices is open (one Database per index, names starting with "." are
// system data); 403 (security_exception) is restricted; 401 with
// WWW-Authenticate is auth-required; but a refusal of GET / or of the
// listing never decides alone: when the search above answers, the cluster
// is open (documents per index from its aggregation, no bytes), as a role
// with the read privilege but not monitor, or a proxy that passes only
// _search, lets anyone read the documents. JSON on GET / without a version number
// and the tagline "You Know, for Search" (or version.distribution
// "opensearch", whose tagline differs) is not-service, as is a reply that is
// not HTTP. On 9243, or for an https:// target, TLS is tried first; on other
// ports plaintext is, and TLS when the plaintext request is dropped without a
// word, answered with a TLS record, or answered "400 The plain HTTP request
// was sent to HTTPS port".
//
// Result.Details keys: cluster_name, distribution, build_flavor, realm,
// error_type (of a refusal), indices, docs, store_bytes (from
// _cluster/stats), ransom_note (an index named like a ransom note), search
// (open, or the HTTP status that refused the search).
package elasticsearch

import (
	"context"
	"errors"
	"fmt"
	"github.com/gownscan/gown/probe/httpget"
	"net/http"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// The paths requested, in order.
const (
	pathRoot    = "/"
	pathIndices = "/_cat/indices?format=json&bytes=b&h=index,health,status,docs.count,store.size"
	pathStats   = "/_cluster/stats?filter_path=indices.count,indices.docs.count,indices.store.size_in_bytes"
)

const (
	plainPort = 9200
	tlsPort   = 9243
)

// Prober checks Elasticsearch and OpenSearch. The zero value is ready to use.
type Prober struct{}

var _ probe.Prober = (*Prober)(nil)

// New returns an Elasticsearch prober.
func New() *Prober { return &Prober{} }

// kind is Elasticsearch's descriptor: 9200 is the HTTP port, 9243 Elastic
// Cloud's TLS port.
var kind = gown.StoreKind{
	Name:    "elasticsearch",
	Ports:   []int{plainPort, tlsPort},
	Schemes: []gown.Scheme{{Name: "elasticsearch", Port: plainPort}},
}

// Kind describes Elasticsearch and OpenSearch: ports 9200 and 9243 (TLS),
// scheme elasticsearch.
func (*Prober) Kind() gown.StoreKind { return kind }

// session carries what one probe learned so far across its requests.
type session struct {
	d      probe.Dialer
	t      gown.Target
	useTLS bool
	r      *gown.Result
}

// get sends one request on the session's transport and keeps its evidence.
func (s *session) get(ctx context.Context, path string) (*httpget.Reply, error) {
	ex, err := httpget.Get(ctx, s.d, s.t, s.useTLS, path)
	if ex != nil {
		s.r.Evidence = append(s.r.Evidence, ex.Evidence...)
		if ex.TLS != nil {
			mode := s.r.TLS.Mode
			s.r.TLS = *ex.TLS
			s.r.TLS.Mode = mode
		}
	}
	if err != nil {
		return nil, fmt.Errorf("elasticsearch GET %s on %s: %w", path, s.t, err)
	}
	return ex.Reply, nil
}

// Probe asks GET /, then the index listing, and says whether the data is
// readable without credentials.
func (p *Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	s, root, err := open(ctx, t, d)
	if err != nil {
		return nil, err
	}
	switch root.Status {
	case http.StatusOK:
		b, err := parseBanner(root.Body)
		if err != nil {
			s.r.Status = gown.StatusNotService
			s.r.Reason = "HTTP answers GET / with something other than Elasticsearch"
			return s.r, nil
		}
		s.r.Product, s.r.Version = b.product(), b.Version.Number
		detailBanner(s.r, b)
	case http.StatusUnauthorized, http.StatusForbidden:
		refused(s.r, root, "GET /")
	default:
		if e, ok := parseError(root.Body); ok && e.Type != "" {
			s.r.Product = "Elasticsearch"
			s.r.Status = gown.StatusUnknown
			s.r.Reason = fmt.Sprintf("Elasticsearch answers GET / with HTTP %d (%s)", root.Status, e.Type)
			return s.r, nil
		}
		s.r.Status = gown.StatusNotService
		s.r.Reason = fmt.Sprintf("HTTP answers GET / with status %d, not Elasticsearch", root.Status)
		return s.r, nil
	}
	s.dataPath(ctx)
	if s.r.Status == gown.StatusRestricted || s.r.Status == gown.StatusAuthRequired {
		s.searchRead(ctx)
	}
	return s.r, nil
}

// open sends GET / and settles the transport: TLS first on 9243 or when the
// target asked for it, plaintext elsewhere, switching when the first choice
// is refused in the way the other transport's listener refuses.
func open(ctx context.Context, t gown.Target, d probe.Dialer) (*session, *httpget.Reply, error) {
	hinted := t.TLS || t.Port == tlsPort
	s := &session{d: d, t: t, useTLS: hinted, r: &gown.Result{Target: t, Store: "elasticsearch"}}
	root, err := s.get(ctx, pathRoot)
	if err != nil && ctx.Err() == nil && switchTransport(err, hinted) {
		s.useTLS = !s.useTLS
		if r2, err2 := s.get(ctx, pathRoot); err2 == nil {
			root, err = r2, nil
		}
	}
	if err != nil {
		return nil, nil, err
	}
	// Elasticsearch serves HTTP or HTTPS on a port, never both, so the
	// transport that answered is the only one.
	s.r.TLS.Mode = gown.TLSNone
	if s.useTLS {
		s.r.TLS.Mode = gown.TLSRequired
	}
	return s, root, nil
}

// switchTransport says whether a failed first GET / is worth repeating over
// the other transport.
func switchTransport(err error, triedTLS bool) bool {
	if triedTLS {
		return !errors.Is(err, gown.ErrReplyTooLarge) && !errors.Is(err, gown.ErrNotService) &&
			!errors.Is(err, httpget.ErrTLSAnswer) && !errors.As(err, new(*probe.DialError))
	}
	return errors.Is(err, httpget.ErrSilent) || errors.Is(err, httpget.ErrTLSAnswer)
}

// detailBanner records the identifying facts of GET /.
func detailBanner(r *gown.Result, b *banner) {
	if b.ClusterName != "" {
		r.Detail("cluster_name", b.ClusterName)
	}
	if b.Version.Distribution != "" {
		r.Detail("distribution", b.Version.Distribution)
	}
	if b.Version.BuildFlavor != "" {
		r.Detail("build_flavor", b.Version.BuildFlavor)
	}
}

// refused sets the verdict for a 401 or 403 on the request named by what.
func refused(r *gown.Result, rp *httpget.Reply, what string) {
	e, isES := parseError(rp.Body)
	if isES && e.Type != "" {
		r.Detail("error_type", e.Type)
		if r.Product == "" {
			r.Product = "Elasticsearch"
		}
	}
	if rp.Status == http.StatusUnauthorized {
		r.Status = gown.StatusAuthRequired
		rl := realm(rp.Header.Get("WWW-Authenticate"))
		if rl != "" {
			r.Detail("realm", rl)
			r.Reason = fmt.Sprintf("%s asks for credentials (401, realm %q)", what, rl)
		} else {
			r.Reason = what + " asks for credentials (401)"
		}
		return
	}
	r.Status = gown.StatusRestricted
	r.Reason = what + " is refused to anonymous clients (403)"
	if e.Type != "" {
		r.Reason = fmt.Sprintf("%s is refused to anonymous clients (403 %s)", what, e.Type)
	}
}
