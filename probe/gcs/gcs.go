// Package gcs checks whether a Google Cloud Storage bucket (Firebase
// Storage's default buckets, PROJECT.appspot.com and
// PROJECT.firebasestorage.app, among them) lists its objects to an
// anonymous caller through the JSON API.
//
// It follows the Cloud Storage JSON API
// (https://cloud.google.com/storage/docs/json_api/v1/objects/list and
// objects/get with alt=media), unauthenticated: no Authorization header,
// no key. A bucket is named by its virtual host, BUCKET.storage.googleapis.com
// (extraction turns an app's PROJECT.appspot.com bucket into that host), and
// gown dials that name (the resolver override and scope apply as to any
// host) and sends, with Connection: close:
//
//	GET /storage/v1/b/BUCKET/o?maxResults=1000 HTTP/1.1   the object list
//
// and, when sampling, GET /storage/v1/b/BUCKET/o/OBJECT?alt=media for a few
// small objects of each top-level prefix. gown never writes and never asks
// for IAM policies or ACLs.
//
// Verdicts: a storage#objects list is open; the inventory has one database
// per first object-name segment, items are objects, bytes their sizes (1000
// objects at most: then truncated). 401 (anonymous caller lacks
// storage.objects.list) is auth-required; 403 restricted; 404 not-service
// (no bucket of that name). Other JSON API errors are unknown, anything
// else not-service.
//
// The test bed's fake-gcs-server has no access control: it shows the open
// case only; the refusals are checked against Google's documented error
// bodies. Against Google itself, gown relies on the JSON API answering on
// the bucket's virtual host, which this machine (no network) cannot show.
//
// Result.Details keys: bucket, http_status, error (the API's reason).
package gcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/httpget"
	"github.com/gownscan/gown/probe/objects"
)

// Suffix is the virtual-host suffix of a bucket's name.
const Suffix = ".storage.googleapis.com"

// maxObjects is what one list asks for and all gown reads of a bucket's
// names.
const maxObjects = 1000

// Prober checks Cloud Storage buckets. The zero value is ready to use.
type Prober struct{}

var _ probe.Prober = (*Prober)(nil)

// New returns a Cloud Storage prober.
func New() *Prober { return &Prober{} }

var kind = gown.StoreKind{Name: "gcs", HintOnly: true, HostSuffixes: []string{Suffix}}

// Kind describes Cloud Storage: hint-only, hosts *.storage.googleapis.com.
func (*Prober) Kind() gown.StoreKind { return kind }

// Bucket names the bucket a host names: the part before
// ".storage.googleapis.com", else the whole host (a bucket named like a
// domain, reached through the resolver override).
func Bucket(host string) string {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if b, ok := strings.CutSuffix(h, Suffix); ok {
		return b
	}
	return h
}

func listPath(bucket string) string {
	return "/storage/v1/b/" + url.PathEscape(bucket) + "/o?maxResults=" + strconv.Itoa(maxObjects)
}

// Probe lists the bucket's objects without credentials.
func (*Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	bucket := Bucket(t.Host)
	if bucket == "" {
		return nil, fmt.Errorf("gcs on %s: %w: no bucket name", t, gown.ErrBadTarget)
	}
	path := listPath(bucket)
	x, err := httpget.Get(ctx, d, t, t.TLS, path)
	if err != nil {
		err = fmt.Errorf("gcs GET %s on %s: %w", path, t, err)
		if (errors.Is(err, gown.ErrNotService) || errors.Is(err, httpget.ErrTLSAnswer)) && ctx.Err() == nil {
			return &gown.Result{Target: t, Store: "gcs", Status: gown.StatusNotService,
				Reason: "answered, but not in HTTP", Error: err.Error(), Evidence: x.Evidence}, nil
		}
		return nil, err
	}
	r := &gown.Result{Target: t, Store: "gcs", Evidence: x.Evidence, TLS: gown.TLS{Mode: gown.TLSNone}}
	if x.TLS != nil {
		r.TLS = *x.TLS
		r.TLS.Mode = gown.TLSRequired
	}
	r.Detail("bucket", bucket)
	r.Detail("http_status", strconv.Itoa(x.Reply.Status))
	judge(r, x.Reply)
	return r, nil
}

// objectList is objects.list's answer; sizes come as strings (uint64 in
// the API's JSON).
type objectList struct {
	Kind  string `json:"kind"`
	Items []struct {
		Name string `json:"name"`
		Size string `json:"size"`
	} `json:"items"`
	NextPageToken string `json:"nextPageToken"`
}

// apiError is the JSON API's error body.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Errors  []struct {
			Reason string `json:"reason"`
		} `json:"errors"`
	} `json:"error"`
}

// parseList reads a reply as an object list; nil when it is none.
func parseList(rep *httpget.Reply) *objectList {
	if rep == nil || rep.Status != 200 || rep.Truncated {
		return nil
	}
	var l objectList
	if json.Unmarshal(rep.Body, &l) != nil || l.Kind != "storage#objects" {
		return nil
	}
	return &l
}

// judge sets the verdict and, when open, the inventory.
func judge(r *gown.Result, rep *httpget.Reply) {
	if l := parseList(rep); l != nil {
		r.Product = "Cloud Storage JSON API"
		r.Status, r.Reason = gown.StatusOpen, "objects.list listed the bucket without credentials"
		inventory(r, l)
		return
	}
	var e apiError
	if json.Unmarshal(rep.Body, &e) != nil || e.Error.Code == 0 {
		r.Status, r.Reason = gown.StatusNotService, fmt.Sprintf("answered %d without a Cloud Storage list or error", rep.Status)
		return
	}
	r.Product = "Cloud Storage JSON API"
	reason := e.Error.Message
	if len(e.Error.Errors) > 0 && e.Error.Errors[0].Reason != "" {
		reason = e.Error.Errors[0].Reason
	}
	r.Detail("error", reason)
	switch rep.Status {
	case 401:
		r.Status, r.Reason = gown.StatusAuthRequired, "objects.list refused an anonymous caller (401)"
	case 403:
		r.Status, r.Reason = gown.StatusRestricted, "objects.list was forbidden to this caller (403)"
	case 404:
		r.Status, r.Reason = gown.StatusNotService, "no bucket of this name (404): whoever creates it gets what the app sends there"
	default:
		r.Status, r.Reason = gown.StatusUnknown, fmt.Sprintf("objects.list answered %d: %s", rep.Status, reason)
	}
}

func inventory(r *gown.Result, l *objectList) {
	var t objects.Tally
	for _, it := range l.Items {
		n, _ := strconv.ParseUint(it.Size, 10, 64) // 0 when not a count
		t.Add(it.Name, n)
	}
	r.Inventory = t.Inventory(l.NextPageToken != "")
}
