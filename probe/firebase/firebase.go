// Package firebase checks whether a Firebase Realtime Database lets anyone
// read it without signing in.
//
// Firebase is reached only through a URL an app carries
// (https://NAME.firebaseio.com, https://NAME-default-rtdb.REGION.firebasedatabase.app):
// the target has Hint "firebase", its host name and port 443. The prober
// therefore claims no port: every HTTPS server on 443 is not a Firebase
// database, and guessing would send Firebase requests to all of them.
//
// It follows the Realtime Database REST API
// (https://firebase.google.com/docs/reference/rest/database) and sends exactly
// one request, over TLS (with the host name as SNI) when the target is on 443
// or came from an https URL, over plaintext otherwise (local test servers):
//
//	GET /.json?shallow=true HTTP/1.1
//	Host: NAME.firebaseio.com
//	User-Agent: gown
//	Accept: application/json
//	Connection: close
//
// shallow=true makes Firebase send the top-level keys with true in place of
// each subtree, so the reply stays small however big the database is. gown
// never writes: no PUT, PATCH, POST or DELETE.
//
// Verdicts: 200 with a JSON object means the security rules allow
// unauthenticated reads (open); the inventory lists the top-level keys (at
// most 100, counting up to 1000) and Inventory.Items is the number of
// top-level keys, as Firebase has no size API. 200 null is open but empty.
// 401 {"error":"Permission denied"} means the rules refuse anonymous reads
// (auth-required). Firebase's errors for a database that does not exist
// (404), was disabled by its owner (423) or lives in another region are
// not-service: there is nothing to read at this name. Anything else that is
// not a Firebase reply is not-service as well.
//
// Result.Details keys: http_status; top_level_keys; root (object, array,
// null or value); state (missing, disabled or other-region); error (the
// Firebase error message, redacted).
package firebase

import (
	"context"
	"errors"
	"fmt"
	"github.com/gownscan/gown/probe/httpget"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

var _ probe.Prober = (*Prober)(nil)

// rootPath is the one request gown sends: the root, keys only.
const rootPath = "/.json?shallow=true"

// product names what answered once a reply is known to be Firebase's.
const product = "Firebase Realtime Database"

// Prober checks Firebase Realtime Database. The zero value is ready to use.
type Prober struct{}

// New returns a Firebase prober.
func New() *Prober { return &Prober{} }

// kind is Firebase's descriptor. It claims no port: it is reached only
// through a hint (Target.Hint "firebase", from a firebase:// URL or an
// https URL of a database host), since port 443 is every HTTPS server's.
var kind = gown.StoreKind{
	Name:         "firebase",
	Schemes:      []gown.Scheme{{Name: "firebase", Port: 443, TLS: true}},
	HostSuffixes: []string{".firebaseio.com", ".firebasedatabase.app"},
	HintOnly:     true,
	// The Realtime Database emulator and firebase-server listen on 9000 by
	// default: detection tries Firebase there once every other store has
	// declined the port.
	DetectPorts: []int{9000},
}

// Kind describes Firebase Realtime Database: hint-only, scheme firebase,
// hosts under .firebaseio.com and .firebasedatabase.app.
func (*Prober) Kind() gown.StoreKind { return kind }

// Probe reads the root's top-level keys and says whether the database is
// readable without credentials.
func (*Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	useTLS := t.TLS || t.Port == 443
	x, err := get(ctx, t, d, useTLS, rootPath)
	if err != nil {
		err = fmt.Errorf("firebase GET %s on %s: %w", rootPath, t, err)
		if (errors.Is(err, gown.ErrNotService) || errors.Is(err, httpget.ErrTLSAnswer)) && ctx.Err() == nil {
			return &gown.Result{Target: t, Store: "firebase", Status: gown.StatusNotService,
				Reason: "answered, but not in HTTP", Error: err.Error(), Evidence: x.Evidence}, nil
		}
		// Nothing answered, the scan ended or the reply broke off: no
		// verdict to give.
		return nil, err
	}
	r := &gown.Result{Target: t, Store: "firebase", Evidence: x.Evidence}
	r.TLS.Mode = gown.TLSNone
	if x.TLS != nil {
		r.TLS = *x.TLS
		r.TLS.Mode = gown.TLSRequired // Firebase serves HTTPS only
	}
	judge(r, x.Reply)
	return r, nil
}

// get sends one GET. A TLS listener's 400 page is an HTTP reply like any
// other here: it is judged (it is not Firebase's), not taken as a cue to
// switch to TLS, which the port and the URL already decided.
func get(ctx context.Context, t gown.Target, d probe.Dialer, useTLS bool, path string) (*httpget.Exchange, error) {
	x, err := httpget.Get(ctx, d, t, useTLS, path)
	if errors.Is(err, httpget.ErrTLSAnswer) && x.Reply != nil {
		err = nil
	}
	return x, err
}
