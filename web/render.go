package web

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/redact"
	"github.com/gownscan/gown/report"
	"github.com/gownscan/gown/store"
)

//go:embed ui
var ui embed.FS

// assets are the files pages load, all from the dashboard itself.
var assets = map[string]string{
	"app.css":  "text/css; charset=utf-8",
	"app.js":   "text/javascript; charset=utf-8",
	"icon.svg": "image/svg+xml",
}

func serveAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if r.URL.Path == "/favicon.ico" {
		name = "icon.svg"
	}
	typ, ok := assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := ui.ReadFile("ui/" + name)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", typ)
	// The files change only with gown itself; an hour of caching spares
	// reloads without hiding an upgrade for long. ServeHTTP's no-store is
	// for data, which these are not.
	w.Header().Set("Cache-Control", "private, max-age=3600")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// funcs are what templates may call. x renders text a server or an app
// chose with control, escape and bidi characters visible (redact.Escape),
// as every other writer of gown does; html/template escapes the markup.
var funcs = template.FuncMap{
	"x":        redact.Escape,
	"bytes":    report.HumanBytes,
	"n":        thousands,
	"upper":    strings.ToUpper,
	"location": func(s gown.Source) string { return redact.Escape(report.Location(s)) },
	"when":     when,
	"subject":  subject,
	"join":     func(l []string) string { return redact.Escape(strings.Join(l, ", ")) },
	"sevclass": func(s gown.Severity) string { return "sev-" + s.String() },
	// worst and worstclass show the worst severity of a fleet row, which
	// has none when nothing was found.
	"worst": func(p *gown.Severity) string {
		if p == nil {
			return "NONE"
		}
		return strings.ToUpper(p.String())
	},
	"worstclass": func(p *gown.Severity) string {
		if p == nil {
			return "sev-none"
		}
		return "sev-" + p.String()
	},
}

// pages are parsed on first use, each with the layout.
var pages = sync.OnceValue(func() map[string]*template.Template {
	names, err := ui.ReadDir("ui")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, e := range names {
		n := e.Name()
		if path.Ext(n) != ".tmpl" || n == "layout.tmpl" || n == "charts.tmpl" {
			continue
		}
		out[strings.TrimSuffix(n, ".tmpl")] = template.Must(template.New("layout.tmpl").Funcs(funcs).ParseFS(ui, "ui/layout.tmpl", "ui/charts.tmpl", "ui/"+n))
	}
	return out
})

// view is what the layout renders around a page.
type view struct {
	Title   string
	Nav     string // the active section
	Version string
	Status  int
	Data    any
}

// render writes a page; it renders to a buffer first so that a template
// error gives a clean 500, not half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, v view) error {
	t, ok := pages()[name]
	if !ok {
		return fmt.Errorf("no page %q", name)
	}
	v.Version, v.Status = s.cfg.Version, status
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(b.Bytes())
	return err
}

// Errors a handler returns to say what the client got wrong.
var errNotFound = errors.New("no such page")

// badRequest is a parameter the client got wrong.
type badRequest struct{ msg string }

func (b badRequest) Error() string { return b.msg }

func badf(format string, args ...any) error { return badRequest{fmt.Sprintf(format, args...)} }

// statusOf maps a handler's error to an HTTP status.
func statusOf(err error) int {
	var br badRequest
	switch {
	case errors.As(err, &br):
		return http.StatusBadRequest
	case errors.Is(err, errNotFound), errors.Is(err, store.ErrNoScan), errors.Is(err, gown.ErrNoFinding):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

// htmlErrors renders a handler's error as an error page.
func (s *Server) htmlErrors(h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.renderError(w, r, statusOf(err), err.Error())
		}
	}
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if err := s.render(w, status, "error", view{Title: http.StatusText(status), Data: msg}); err != nil {
		http.Error(w, msg, status)
	}
}

// apiError is the body of every API error.
type apiError struct {
	Error string `json:"error"`
}

func (s *Server) jsonHandler(h func(*http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := h(r)
		if err != nil {
			writeJSON(w, statusOf(err), apiError{Error: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

// writeJSON encodes with encoding/json's HTML escaping left on: a < in a
// hostile name is \u003c on the wire, inert even if a browser sniffed it.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// thousands writes a count with thin separators: 100,000.
func thousands(v any) string {
	var s string
	switch n := v.(type) {
	case int:
		s = strconv.Itoa(n)
	case int64:
		s = strconv.FormatInt(n, 10)
	case uint64:
		s = strconv.FormatUint(n, 10)
	default:
		s = fmt.Sprint(v)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// subject names a finding's target: host:port, or the host alone for a
// subject without a port (an app's id, an address as a whole).
func subject(t gown.Target) string {
	if t.Port == 0 {
		return redact.Escape(t.Host)
	}
	return redact.Escape(t.String())
}
