// Package web is gown's dashboard: read-only pages and a JSON API over a
// results store (gown serve). Nothing it serves comes from elsewhere: the
// pages, their one style sheet, their one script and their icon are
// embedded, charts are SVG drawn on the server, and every string a server
// or an app chose goes through html/template's escaping (and, in the page,
// redact.Escape, so control characters show as escapes).
//
// Safety by construction:
//   - only GET and HEAD are served; every other method is 405, and no
//     handler writes to the store (it is used through gown.Store's readers
//     and gown.Browser alone);
//   - every response carries a Content-Security-Policy allowing scripts,
//     styles and images from the dashboard itself only, no inline script or
//     style, no frames, no form posts elsewhere; and nosniff, no referrer,
//     no framing, no caching;
//   - requests naming a host that is neither an IP address, localhost, nor
//     one the operator allowed are refused (421), so a web page cannot
//     reach a loopback dashboard through DNS rebinding;
//   - with a token hash set, every page and API call needs the token, as a
//     Bearer header or as the session cookie /login sets (see auth.go).
package web

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/gownscan/gown"
)

// Config sets up a dashboard.
type Config struct {
	// Store is the results store the pages read. It must implement
	// gown.Browser (both of gown's backends do).
	Store gown.Store
	// TokenHash, when set, is the hex SHA-256 of the access token every
	// request must present (HashToken). Empty serves without a token: only
	// for a listener on loopback.
	TokenHash string
	// AllowedHosts are host names (without port) requests may name besides
	// IP addresses and localhost: the names a dashboard behind a proxy or
	// on a LAN is reached by.
	AllowedHosts []string
	// Version is gown's version, shown in the footer.
	Version string
}

// Validate checks the config.
func (c *Config) Validate() error {
	if c.Store == nil {
		return errors.New("web: no results store")
	}
	if _, ok := c.Store.(gown.Browser); !ok {
		return fmt.Errorf("web: the results store (%T) cannot answer the dashboard's queries", c.Store)
	}
	if c.TokenHash != "" && !validHash(c.TokenHash) {
		return errors.New("web: the token hash is not a hex SHA-256")
	}
	return nil
}

// Server is the dashboard's http.Handler.
type Server struct {
	cfg      Config
	st       gown.Store
	br       gown.Browser
	mux      *http.ServeMux
	sessions *sessions
}

// New returns the dashboard over cfg.Store.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, st: cfg.Store, br: cfg.Store.(gown.Browser), mux: http.NewServeMux(), sessions: newSessions()}
	s.routes()
	return s, nil
}

// routes is the one list of what the dashboard serves.
func (s *Server) routes() {
	page := func(pattern string, h func(http.ResponseWriter, *http.Request) error) {
		s.mux.HandleFunc("GET "+pattern, s.authed(s.htmlErrors(h)))
	}
	api := func(pattern string, h func(*http.Request) (any, error)) {
		s.mux.HandleFunc("GET "+pattern, s.authed(s.jsonHandler(h)))
	}
	page("/{$}", s.overview)
	page("/scans", s.scans)
	page("/scans/{id}", s.findings)
	page("/scans/{id}/findings/{fid}", s.finding)
	page("/diff", s.diff)
	page("/apps", s.apps)
	page("/apps/{app}", s.app)
	page("/fleet", s.fleet)
	api("/api/scans", s.apiScans)
	api("/api/scans/{id}", s.apiScan)
	api("/api/scans/{id}/findings", s.apiFindings)
	api("/api/scans/{id}/findings/{fid}", s.apiFinding)
	api("/api/trend", s.apiTrend)
	api("/api/diff", s.apiDiff)
	api("/api/apps", s.apiApps)
	api("/api/fleet", s.apiFleet)
	s.mux.HandleFunc("GET /login", s.login)
	s.mux.HandleFunc("GET /assets/{name}", serveAsset)
	s.mux.HandleFunc("GET /favicon.ico", serveAsset)
	s.mux.HandleFunc("GET /", s.authed(s.htmlErrors(func(http.ResponseWriter, *http.Request) error {
		return errNotFound
	})))
}

// ServeHTTP applies the rules every response follows, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	// Findings are sensitive: no copy in a browser's or a proxy's cache.
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "the dashboard is read-only: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	if !s.hostAllowed(r.Host) {
		http.Error(w, "this dashboard does not answer to that host name", http.StatusMisdirectedRequest)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// csp lets pages use the dashboard's own script, style sheet and images
// and nothing else: no inline code (so markup that slipped through escaping
// could not run), no connection, no frame, no form to another origin.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// hostAllowed accepts IP literals, localhost and the configured names: a
// rebinding attacker's page names its own domain, which is refused.
func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if net.ParseIP(host) != nil || strings.EqualFold(host, "localhost") {
		return true
	}
	for _, a := range s.cfg.AllowedHosts {
		if strings.EqualFold(a, host) {
			return true
		}
	}
	return false
}
