// Package azblob checks whether an Azure Blob Storage container lets an
// anonymous client list its blobs or read them by name.
//
// It follows the Blob service REST API, unsigned: no Authorization header,
// no SAS, no key. A container is named by the target's Path under the host:
// ACCOUNT.blob.core.windows.net with Path "/CONTAINER" (an app's blob URL),
// or, path style (Azurite, an IP address), Path "/ACCOUNT/CONTAINER". gown
// sends, each on its own connection with Connection: close:
//
//	GET PATH?restype=container&comp=list&maxresults=1000   List Blobs
//	GET PATH/BLOB  with Range: bytes=0-1023                one listed blob, when the listing answered
//	GET PATH/BLOB  with Range: bytes=0-1023                a blob the app names (Target.Names), when the listing was refused
//	GET PATH/gown-absent-blob-check                        a name no one planted, when none of those read
//
// (https://learn.microsoft.com/rest/api/storageservices/list-blobs,
// .../get-blob). gown never writes, never asks for the container's ACL or
// properties, and reads at most 1 KiB of one blob to decide.
//
// Verdicts, per docs/output.md: a listing, and a listed blob read, is open
// (public access level "container"); a listing whose blobs all refuse a read
// is restricted. A refused listing does not decide alone: the read of a name
// decides. BlobNotFound for a name no one planted is an allowed read of an
// empty result (public access level "blob": anyone who knows a blob's name
// reads it), so open without an inventory; the same refusal as the listing
// (AuthorizationFailure, ResourceNotFound — Azure's answer to an anonymous
// request on a private container —, NoAuthenticationInformation,
// PublicAccessNotPermitted) is auth-required: the container wants a signed
// request. ContainerNotFound is not-service (the app names a container that
// does not exist). AccountIsDisabled is restricted. Other Blob service
// errors are unknown, anything else not-service.
//
// The inventory has one database per first blob-name segment
// ("users/u1.json" is in "users"), items are blobs, bytes their
// Content-Length; 1000 blobs at most are listed (then truncated).
//
// Result.Details keys: container, account, access (container, blob),
// http_status, error (the service's error code), read (the status of the
// deciding blob read).
package azblob

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/httpget"
	"github.com/gownscan/gown/probe/objects"
)

// Suffix is the host suffix of an account's Blob service.
const Suffix = ".blob.core.windows.net"

// maxResults is what one listing asks for and all gown reads of a
// container's names.
const maxResults = 1000

// readBytes bounds the read of one blob that decides a verdict.
const readBytes = 1024

// AbsentBlob is the name gown reads when the listing was refused: no one
// plants it, so a blob-level container answers BlobNotFound (the read was
// allowed) and a private one refuses.
const AbsentBlob = "gown-absent-blob-check"

// Prober checks Azure Blob containers. The zero value is ready to use.
type Prober struct{}

var _ probe.Prober = (*Prober)(nil)

// New returns an Azure Blob prober.
func New() *Prober { return &Prober{} }

var kind = gown.StoreKind{Name: "azblob", HintOnly: true, HostSuffixes: []string{Suffix}, PathSegments: 1}

// Kind describes Azure Blob: hint-only, hosts *.blob.core.windows.net, the
// container named by the URL's path.
func (*Prober) Kind() gown.StoreKind { return kind }

// Container splits a target into account and container: the host's first
// label and the path's only segment for ACCOUNT.blob.core.windows.net, the
// path's two segments otherwise (path style). ok is false when the path
// names no container.
func Container(t gown.Target) (account, container string, ok bool) {
	segs := strings.Split(strings.Trim(t.Path, "/"), "/")
	h := strings.TrimSuffix(strings.ToLower(t.Host), ".")
	if acct, virt := strings.CutSuffix(h, Suffix); virt && acct != "" && net.ParseIP(h) == nil {
		if len(segs) != 1 || segs[0] == "" {
			return acct, "", false
		}
		return acct, segs[0], true
	}
	if len(segs) != 2 || segs[0] == "" || segs[1] == "" {
		return "", "", false
	}
	return segs[0], segs[1], true
}

// containerPath is the request path of the container: the target's path,
// normalised.
func containerPath(t gown.Target) string { return "/" + strings.Trim(t.Path, "/") }

var listQuery = "?restype=container&comp=list&maxresults=" + strconv.Itoa(maxResults)

// Probe lists the container without credentials and reads one blob to
// decide.
func (*Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	account, container, ok := Container(t)
	if !ok {
		return nil, fmt.Errorf("azblob on %s: %w: the path names no container", t, gown.ErrBadTarget)
	}
	base := containerPath(t)
	x, err := httpget.Get(ctx, d, t, t.TLS, base+listQuery)
	if err != nil {
		err = fmt.Errorf("azblob GET %s on %s: %w", base+listQuery, t, err)
		if (errors.Is(err, gown.ErrNotService) || errors.Is(err, httpget.ErrTLSAnswer)) && ctx.Err() == nil {
			return &gown.Result{Target: t, Store: "azblob", Status: gown.StatusNotService,
				Reason: "answered, but not in HTTP", Error: err.Error(), Evidence: x.Evidence}, nil
		}
		return nil, err
	}
	r := &gown.Result{Target: t, Store: "azblob", Evidence: x.Evidence, TLS: gown.TLS{Mode: gown.TLSNone}}
	if x.TLS != nil {
		r.TLS = *x.TLS
		r.TLS.Mode = gown.TLSRequired
	}
	r.Detail("account", account)
	r.Detail("container", container)
	r.Detail("http_status", strconv.Itoa(x.Reply.Status))
	list, e := parse(x.Reply)
	switch {
	case list != nil:
		r.Product = "Azure Blob Storage"
		inventory(r, list)
		return decideListed(ctx, t, d, r, base, list)
	case e != nil:
		r.Product = "Azure Blob Storage"
		r.Detail("error", e.Code)
		if !refusal(e.Code) {
			judgeError(r, e.Code)
			return r, nil
		}
		return decideByName(ctx, t, d, r, base, e.Code)
	default:
		r.Status, r.Reason = gown.StatusNotService, fmt.Sprintf("answered %d without a blob listing or a Blob service error", x.Reply.Status)
		return r, nil
	}
}

// decideListed reads the first listed blob: allowed is open, refused is
// restricted (listed names, unreadable data). An empty container is open:
// the listing itself was the allowed read, with nothing left to try.
func decideListed(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, base string, l *enumeration) (*gown.Result, error) {
	r.Detail("access", "container")
	if len(l.Blobs) == 0 {
		r.Status, r.Reason = gown.StatusOpen, "List Blobs answered without a signature (an empty container)"
		return r, nil
	}
	y, err := httpget.GetRange(ctx, d, t, t.TLS, base+"/"+escapeName(l.Blobs[0].Name), readBytes)
	if y != nil {
		r.Evidence = append(r.Evidence, y.Evidence...)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("azblob read of a listed blob on %s: %w", t, err)
		}
		r.Status, r.Reason = gown.StatusOpen, "List Blobs answered without a signature (the read of a listed blob failed: "+err.Error()+")"
		return r, nil
	}
	r.Detail("read", strconv.Itoa(y.Reply.Status))
	if y.Reply.Status == 200 || y.Reply.Status == 206 {
		r.Status, r.Reason = gown.StatusOpen, "List Blobs and a read of a listed blob answered without a signature (public access: container)"
		return r, nil
	}
	code := ""
	if _, e := parse(y.Reply); e != nil {
		code = " (" + e.Code + ")"
	}
	r.Status, r.Reason = gown.StatusRestricted, fmt.Sprintf("blobs are listed without a signature, but a read of a listed blob was refused: %d%s", y.Reply.Status, code)
	return r, nil
}

// decideByName reads a blob no one planted after a refused listing:
// BlobNotFound means anonymous reads reach the container's blobs.
func decideByName(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, base, listCode string) (*gown.Result, error) {
	// A blob the app names is read first: its data, if readable, is the
	// proof; else the name no one planted.
	for _, name := range KnownBlobs(t) {
		y, err := httpget.GetRange(ctx, d, t, t.TLS, base+"/"+escapeName(name), readBytes)
		if y != nil {
			r.Evidence = append(r.Evidence, y.Evidence...)
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("azblob read by name on %s: %w", t, err)
			}
			continue
		}
		if y.Reply.Status == 200 || y.Reply.Status == 206 {
			r.Detail("read", strconv.Itoa(y.Reply.Status))
			r.Detail("access", "blob")
			r.Detail("read_blob", name)
			r.Status, r.Reason = gown.StatusOpen, "List Blobs was refused ("+listCode+"), but a blob the app names read without a signature (public access: blob): anyone who knows a blob's name reads it"
			r.Inventory = &gown.Inventory{Truncated: true}
			return r, nil
		}
	}
	y, err := httpget.GetRange(ctx, d, t, t.TLS, base+"/"+AbsentBlob, readBytes)
	if y != nil {
		r.Evidence = append(r.Evidence, y.Evidence...)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("azblob read by name on %s: %w", t, err)
		}
		judgeError(r, listCode)
		r.Reason += " (the read by name failed: " + err.Error() + ")"
		return r, nil
	}
	r.Detail("read", strconv.Itoa(y.Reply.Status))
	_, e := parse(y.Reply)
	switch {
	case y.Reply.Status == 200 || y.Reply.Status == 206 || (e != nil && e.Code == "BlobNotFound"):
		r.Detail("access", "blob")
		r.Status, r.Reason = gown.StatusOpen, "List Blobs was refused ("+listCode+"), but an unsigned read by name reached the blobs (public access: blob): anyone who knows a blob's name reads it"
		// No listing: what the container holds is unknown, not empty.
		r.Inventory = &gown.Inventory{Truncated: true}
	case e != nil:
		judgeError(r, e.Code)
	default:
		judgeError(r, listCode)
	}
	return r, nil
}

// maxKnown bounds the blob names an app gives that one probe reads.
const maxKnown = 3

// KnownBlobs are the blob names the target carries (Target.Names: the rest
// of an app's blob URLs after the container), at most maxKnown, each a
// name a request path can hold once escaped.
func KnownBlobs(t gown.Target) []string {
	var out []string
	for _, n := range strings.Split(t.Names, ",") {
		if len(out) == maxKnown {
			break
		}
		if n != "" && len(n) <= 1024 && utf8.ValidString(n) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// refusal reports whether a Blob service error code refuses an anonymous
// request (the container may still exist and be readable by name).
func refusal(code string) bool {
	switch code {
	case "AuthorizationFailure", "ResourceNotFound", "NoAuthenticationInformation", "AuthenticationFailed",
		"PublicAccessNotPermitted", "AuthorizationPermissionMismatch", "InsufficientAccountPermissions":
		return true
	}
	return false
}

// judgeError sets the verdict of an error code that decides.
func judgeError(r *gown.Result, code string) {
	r.Detail("error", code)
	switch {
	case refusal(code):
		r.Status, r.Reason = gown.StatusAuthRequired, "the container refused an unsigned listing and an unsigned read ("+code+")"
	case code == "ContainerNotFound":
		r.Status, r.Reason = gown.StatusNotService, "no container of this name (ContainerNotFound)"
	case code == "AccountIsDisabled":
		r.Status, r.Reason = gown.StatusRestricted, "the storage account is disabled (AccountIsDisabled)"
	default:
		r.Status, r.Reason = gown.StatusUnknown, "the Blob service answered "+code
	}
}

// enumeration is List Blobs' answer.
type enumeration struct {
	XMLName       xml.Name `xml:"EnumerationResults"`
	ContainerName string   `xml:"ContainerName,attr"`
	Blobs         []struct {
		Name string `xml:"Name"`
		Size int64  `xml:"Properties>Content-Length"`
	} `xml:"Blobs>Blob"`
	NextMarker string `xml:"NextMarker"`
}

// serviceError is the Blob service's error document.
type serviceError struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
}

// parse reads a reply as a listing or a Blob service error; both nil when
// it is neither. The body is capped by httpget (MaxBody); a cut listing is
// no listing. The error code may also come only in the x-ms-error-code
// header (a HEAD, a body the server left empty).
func parse(rep *httpget.Reply) (*enumeration, *serviceError) {
	if rep == nil {
		return nil, nil
	}
	if rep.Status == 200 && !rep.Truncated {
		var l enumeration
		if xml.Unmarshal(rep.Body, &l) == nil && l.XMLName.Local == "EnumerationResults" {
			return &l, nil
		}
	}
	var e serviceError
	if xml.Unmarshal(rep.Body, &e) == nil && e.XMLName.Local == "Error" && e.Code != "" {
		e.Code = clip(e.Code)
		return nil, &e
	}
	if c := rep.Header.Get("X-Ms-Error-Code"); c != "" && rep.Status >= 400 {
		return nil, &serviceError{Code: clip(c)}
	}
	return nil, nil
}

// clip bounds an error code a server chose before it goes into details.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.ToValidUTF8(s, "?")
}

// escapeName escapes each segment of a blob name for a request path.
func escapeName(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// inventory groups the listed blobs by first name segment.
func inventory(r *gown.Result, l *enumeration) {
	var t objects.Tally
	for _, b := range l.Blobs {
		t.Add(b.Name, uint64(max(b.Size, 0)))
	}
	r.Inventory = t.Inventory(l.NextMarker != "" || len(l.Blobs) >= maxResults)
}
