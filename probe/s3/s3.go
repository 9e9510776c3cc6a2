// Package s3 checks whether an Amazon S3 bucket (or a bucket of an
// S3-compatible server) lists its objects to an anonymous client.
//
// It follows the S3 REST API's ListObjectsV2
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html)
// and GetObject, unsigned: no Authorization header, no credentials. The
// bucket comes from the host an app or a user names, virtual-host style
// (BUCKET.s3.amazonaws.com, BUCKET.s3.REGION.amazonaws.com, or any host whose
// first label is the bucket). It sends, each on its own connection with
// Connection: close:
//
//	GET /?list-type=2&max-keys=1000 HTTP/1.1       Host: BUCKET.s3.amazonaws.com (virtual-host style)
//	GET /BUCKET?list-type=2&max-keys=1000 HTTP/1.1 Host: s3.amazonaws.com (path style), only when
//	                                               the virtual-host request did not reach the bucket
//
// then, when the listing names objects, GET /KEY (or /BUCKET/KEY) of the
// first listed object with Range: bytes=0-1023, which decides the verdict;
// and, when sampling, GET /KEY for a few small objects of each top-level
// prefix. gown never writes, never signs a request, and never
// asks for an ACL or a policy.
//
// Verdicts: a ListBucketResult whose first object reads is open (an empty
// listing too: nothing is left to try); a listing whose object read is
// refused (private object ACLs under a public listing) is restricted, with
// the inventory of what it lists. The inventory has one database per
// first key segment ("users/u1.json" is in "users"; a key without "/" is its
// own), items are objects, bytes their sizes (the listing is capped at 1000
// keys: then truncated). AccessDenied is auth-required (the bucket exists
// and wants a signed request); AllAccessDisabled restricted; NoSuchBucket
// not-service (no bucket of that name: an app naming it may have lost it to
// anyone who creates it). Other S3 errors are unknown, anything else
// not-service. A host that names no bucket (an address, s3.amazonaws.com)
// gets the first request only, and no verdict beyond what answered.
//
// Result.Details keys: style (virtual-host or path), bucket, http_status,
// error (S3's error code), read (the status of the deciding object read).
package s3

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/httpget"
	"github.com/gownscan/gown/probe/objects"
)

// maxKeys is what one listing asks for and all gown reads of a bucket's
// names.
const maxKeys = 1000

// Prober checks S3 buckets. The zero value is ready to use.
type Prober struct{}

var _ probe.Prober = (*Prober)(nil)

// New returns an S3 prober.
func New() *Prober { return &Prober{} }

// kind is S3's descriptor: reached only through a hint (an app's bucket
// host, an https URL of a *.s3.amazonaws.com host), as buckets live on 443
// beside every other HTTPS service.
var kind = gown.StoreKind{
	Name:         "s3",
	HintOnly:     true,
	HostSuffixes: []string{".s3.amazonaws.com"},
}

// Kind describes S3: hint-only, hosts *.s3.amazonaws.com.
func (*Prober) Kind() gown.StoreKind { return kind }

// Bucket names the bucket a host names: the part before ".s3." of an AWS
// host, else the first label. ok is false for an IP address or a host
// without a bucket label (s3.amazonaws.com itself).
func Bucket(host string) (bucket string, ok bool) {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "" || net.ParseIP(strings.Trim(h, "[]")) != nil {
		return "", false
	}
	if i := strings.Index(h, ".s3."); i > 0 && strings.HasSuffix(h, ".amazonaws.com") {
		return h[:i], true
	}
	if i := strings.Index(h, ".s3-"); i > 0 && strings.HasSuffix(h, ".amazonaws.com") {
		return h[:i], true
	}
	if strings.HasPrefix(h, "s3.") || strings.HasPrefix(h, "s3-") {
		return "", false
	}
	first, _, found := strings.Cut(h, ".")
	if !found || first == "" {
		return "", false
	}
	return first, true
}

// pathHost is the endpoint a path-style request goes to: the host without
// its bucket label.
func pathHost(host, bucket string) string {
	return strings.TrimPrefix(strings.TrimPrefix(strings.ToLower(host), bucket), ".")
}

// listQuery is the query of the listing.
var listQuery = "?list-type=2&max-keys=" + strconv.Itoa(maxKeys)

// Probe lists the bucket anonymously, virtual-host style and, when that
// does not reach it, path style.
func (*Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	bucket, named := Bucket(t.Host)
	x, err := httpget.Get(ctx, d, t, t.TLS, "/"+listQuery)
	if err != nil {
		err = fmt.Errorf("s3 GET /%s on %s: %w", listQuery, t, err)
		if (errors.Is(err, gown.ErrNotService) || errors.Is(err, httpget.ErrTLSAnswer)) && ctx.Err() == nil {
			return &gown.Result{Target: t, Store: "s3", Status: gown.StatusNotService,
				Reason: "answered, but not in HTTP", Error: err.Error(), Evidence: x.Evidence}, nil
		}
		return nil, err
	}
	r := &gown.Result{Target: t, Store: "s3", Evidence: x.Evidence, TLS: gown.TLS{Mode: gown.TLSNone}}
	if x.TLS != nil {
		r.TLS = *x.TLS
		r.TLS.Mode = gown.TLSRequired
	}
	if !named {
		// An address or an endpoint's own name: no bucket to list. Say
		// what answered, and no more.
		r.Status, r.Reason = gown.StatusNotService, fmt.Sprintf("answered %d, but the host names no bucket to list", x.Reply.Status)
		if _, e := parse(x.Reply); e != nil {
			r.Product, r.Status, r.Reason = "S3", gown.StatusUnknown, "an S3 endpoint ("+e.Code+"), but the host names no bucket to list"
		}
		return r, nil
	}
	r.Detail("bucket", bucket)
	style := "virtual-host"
	list, s3err := parse(x.Reply)
	if list == nil || list.Name != bucket {
		// Not this bucket's listing (a server that routes by path only,
		// listing every bucket or none): ask path style.
		pt := t
		if ph := pathHost(t.Host, bucket); ph != "" && ph != strings.ToLower(t.Host) {
			pt.Host = ph
		}
		y, err := httpget.Get(ctx, d, pt, t.TLS, "/"+bucket+listQuery)
		r.Evidence = append(r.Evidence, y.Evidence...)
		if err == nil {
			if l2, e2 := parse(y.Reply); l2 != nil && l2.Name == bucket || (e2 != nil && s3err == nil) {
				list, s3err, x, style = l2, e2, y, "path"
			}
		}
	}
	r.Detail("style", style)
	r.Detail("http_status", strconv.Itoa(x.Reply.Status))
	judge(r, list, s3err, x.Reply)
	if list != nil && len(list.Contents) > 0 {
		// Listing is not reading: read one listed object, bounded, and let
		// that read decide.
		pt, prefix := t, "/"
		if style == "path" {
			if ph := pathHost(t.Host, bucket); ph != "" {
				pt.Host = ph
			}
			prefix = "/" + bucket + "/"
		}
		y, err := httpget.GetRange(ctx, d, pt, t.TLS, prefix+escapeKey(list.Contents[0].Key), readBytes)
		if y != nil {
			r.Evidence = append(r.Evidence, y.Evidence...)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("s3 read of a listed object on %s: %w", t, err)
			}
			r.Reason += " (the read of a listed object failed: " + err.Error() + ")"
			return r, nil
		}
		readObject(r, y.Reply)
	}
	return r, nil
}

// readBytes bounds the read of the one listed object that decides.
const readBytes = 1024

// readObject decides a listed bucket by the read of one listed object:
// allowed (200, 206) keeps it open; refused makes it restricted (names
// listed, data unreadable: private objects under a public listing).
func readObject(r *gown.Result, rep *httpget.Reply) {
	r.Detail("read", strconv.Itoa(rep.Status))
	if rep.Status == 200 || rep.Status == 206 {
		r.Reason = "ListObjectsV2 listed the bucket and a listed object read without a signature"
		return
	}
	code := ""
	if _, e := parse(rep); e != nil {
		code = " (" + e.Code + ")"
	}
	r.Status, r.Reason = gown.StatusRestricted, fmt.Sprintf("the bucket lists its objects without a signature, but a read of a listed object was refused: %d%s", rep.Status, code)
}

// listResult is ListObjectsV2's answer.
type listResult struct {
	XMLName     xml.Name `xml:"ListBucketResult"`
	Name        string   `xml:"Name"`
	KeyCount    int      `xml:"KeyCount"`
	IsTruncated bool     `xml:"IsTruncated"`
	Contents    []struct {
		Key  string `xml:"Key"`
		Size int64  `xml:"Size"`
	} `xml:"Contents"`
}

// s3Error is S3's error document.
type s3Error struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

// parse reads a reply as a listing or an S3 error; both nil when it is
// neither.
func parse(rep *httpget.Reply) (*listResult, *s3Error) {
	if rep == nil {
		return nil, nil
	}
	if rep.Status == 200 && !rep.Truncated {
		var l listResult
		if xml.Unmarshal(rep.Body, &l) == nil && l.XMLName.Local == "ListBucketResult" {
			return &l, nil
		}
	}
	var e s3Error
	if xml.Unmarshal(rep.Body, &e) == nil && e.XMLName.Local == "Error" && e.Code != "" {
		return nil, &e
	}
	return nil, nil
}

// judge sets the verdict and, when open, the inventory.
func judge(r *gown.Result, list *listResult, e *s3Error, rep *httpget.Reply) {
	switch {
	case list != nil:
		r.Product = "S3"
		r.Status, r.Reason = gown.StatusOpen, "ListObjectsV2 listed the bucket without a signature"
		inventory(r, list)
	case e != nil:
		r.Product = "S3"
		r.Detail("error", e.Code)
		switch e.Code {
		case "AccessDenied":
			r.Status, r.Reason = gown.StatusAuthRequired, "the bucket refused an unsigned listing (AccessDenied)"
		case "AllAccessDisabled":
			r.Status, r.Reason = gown.StatusRestricted, "all access to the bucket is disabled (AllAccessDisabled)"
		case "NoSuchBucket":
			r.Status, r.Reason = gown.StatusNotService, "no bucket of this name (NoSuchBucket): whoever creates it gets what the app sends there"
		default:
			r.Status, r.Reason = gown.StatusUnknown, "the listing answered S3 error "+e.Code
		}
	default:
		r.Status, r.Reason = gown.StatusNotService, fmt.Sprintf("answered %d without an S3 listing or error", rep.Status)
	}
}

// inventory groups the listed objects by first key segment.
func inventory(r *gown.Result, l *listResult) {
	var t objects.Tally
	for _, c := range l.Contents {
		t.Add(c.Key, uint64(max(c.Size, 0)))
	}
	r.Inventory = t.Inventory(l.IsTruncated)
}
