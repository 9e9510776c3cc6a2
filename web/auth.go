package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The access token is 32 random bytes, hex: too long to guess, so a fast
// hash is all the store needs to keep (no password-hashing function: there
// is no low-entropy secret to stretch). gown serve prints the token once and
// keeps only HashToken of it.

// NewToken returns a fresh random access token.
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b) // crypto/rand.Read never fails (Go 1.24+): it crashes the program instead
	return hex.EncodeToString(b)
}

// HashToken returns the hex SHA-256 of a token: what the store keeps.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func validHash(h string) bool {
	b, err := hex.DecodeString(h)
	return err == nil && len(b) == sha256.Size
}

// tokenOK compares a presented token with the kept hash in constant time.
func (s *Server) tokenOK(token string) bool {
	if token == "" {
		return false
	}
	got := sha256.Sum256([]byte(token))
	want, err := hex.DecodeString(s.cfg.TokenHash)
	return err == nil && subtle.ConstantTimeCompare(got[:], want) == 1
}

// sessionCookie is the cookie /login sets: a random session id, not the
// token, so that the token stays out of the browser's cookie jar and a
// restart of gown serve ends every session.
const sessionCookie = "gown_session"

// Session limits: a session lasts a working day; at most maxSessions are
// kept, the oldest dropped first, so that logins cannot grow memory.
const (
	sessionTTL  = 12 * time.Hour
	maxSessions = 1024
)

// sessions are the logged-in browsers, by hashed session id.
type sessions struct {
	mu sync.Mutex
	m  map[[32]byte]time.Time // expiry
}

func newSessions() *sessions { return &sessions{m: map[[32]byte]time.Time{}} }

// add starts a session and returns its id.
func (ss *sessions) add(now time.Time) string {
	id := NewToken()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= maxSessions {
		var oldest [32]byte
		var at time.Time
		for k, exp := range ss.m {
			if at.IsZero() || exp.Before(at) {
				oldest, at = k, exp
			}
		}
		delete(ss.m, oldest)
	}
	ss.m[sha256.Sum256([]byte(id))] = now.Add(sessionTTL)
	return id
}

// valid reports whether id names a live session. The map is keyed by the
// id's hash, so the lookup does not compare the secret byte by byte.
func (ss *sessions) valid(id string, now time.Time) bool {
	if id == "" {
		return false
	}
	k := sha256.Sum256([]byte(id))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	exp, ok := ss.m[k]
	if ok && now.After(exp) {
		delete(ss.m, k)
		return false
	}
	return ok
}

// authed lets a request through when no token is set, or when it carries
// the token (Authorization: Bearer) or a live session cookie.
func (s *Server) authed(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.TokenHash == "" || s.allowed(r) {
			next(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="gown"`)
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "a token is required: Authorization: Bearer TOKEN"})
			return
		}
		s.renderError(w, r, http.StatusUnauthorized, "This dashboard needs its access token. Open the login address gown serve "+
			"printed when it made the token (/login?token=…), or start gown serve again with --new-token to make a new one.")
	}
}

func (s *Server) allowed(r *http.Request) bool {
	if a := r.Header.Get("Authorization"); a != "" {
		scheme, tok, _ := strings.Cut(a, " ")
		return strings.EqualFold(scheme, "Bearer") && s.tokenOK(strings.TrimSpace(tok))
	}
	c, err := r.Cookie(sessionCookie)
	return err == nil && s.sessions.valid(c.Value, time.Now())
}

// login trades the token in the address for a session cookie and sends
// the browser on without the token in its address bar or history.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.cfg.TokenHash == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if !s.tokenOK(r.URL.Query().Get("token")) {
		s.renderError(w, r, http.StatusUnauthorized, "That token is not this dashboard's.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: s.sessions.add(time.Now()), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionTTL / time.Second)})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
