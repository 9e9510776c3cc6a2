package couchbase

import (
	"encoding/json"
	"fmt"
	"github.com/gownscan/gown/probe/httpget"
	"net/http"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

// maxBuckets caps the buckets listed in the inventory.
const maxBuckets = 100

// poolsInfo is the part of GET /pools gown reads.
type poolsInfo struct {
	ImplementationVersion string            `json:"implementationVersion"`
	IsAdminCreds          *bool             `json:"isAdminCreds"`
	IsEnterprise          *bool             `json:"isEnterprise"`
	ComponentsVersion     map[string]string `json:"componentsVersion"`
	Pools                 []struct {
		Name string `json:"name"`
	} `json:"pools"`
}

// bucket is the part of one GET /pools/default/buckets entry gown reads.
type bucket struct {
	Name       string `json:"name"`
	BucketType string `json:"bucketType"`
	BasicStats struct {
		ItemCount json.Number `json:"itemCount"`
		DiskUsed  json.Number `json:"diskUsed"`
		DataUsed  json.Number `json:"dataUsed"`
	} `json:"basicStats"`
}

// couchbaseRealm reports whether a 401 comes from Couchbase's cluster
// manager, whose realm is "Couchbase Server Admin / REST" and whose Server
// header is "Couchbase Server".
func couchbaseRealm(h http.Header) bool {
	return strings.Contains(strings.ToLower(h.Get("WWW-Authenticate")), "couchbase") ||
		strings.HasPrefix(h.Get("Server"), "Couchbase Server")
}

// judgePools reads GET /pools. It returns the parsed reply and whether the
// peer is Couchbase and the bucket list is worth asking for; when not, the
// result already holds the verdict.
func judgePools(r *gown.Result, resp *httpget.Reply) (poolsInfo, bool) {
	var info poolsInfo
	switch {
	case resp.Status == http.StatusUnauthorized && couchbaseRealm(resp.Header):
		r.Product = product
		r.Status, r.Reason = gown.StatusAuthRequired, "asks for credentials on /pools (401)"
		return info, false
	case resp.Status == http.StatusUnauthorized:
		r.Status, r.Reason = gown.StatusUnknown, "asks for credentials on /pools (401), but does not say it is Couchbase"
		return info, false
	case resp.Status != http.StatusOK:
		r.Status, r.Reason = gown.StatusNotService, fmt.Sprintf("/pools answered HTTP %d: not a Couchbase cluster manager", resp.Status)
		return info, false
	}
	if err := json.Unmarshal(resp.Body, &info); err != nil || (info.ImplementationVersion == "" && info.ComponentsVersion["ns_server"] == "") {
		r.Status, r.Reason = gown.StatusNotService, "/pools answered without implementationVersion: not a Couchbase cluster manager"
		return info, false
	}
	r.Product = product
	r.Version = info.ImplementationVersion
	if v := info.ComponentsVersion["ns_server"]; v != "" {
		r.Detail("ns_server", v)
	}
	if info.IsAdminCreds != nil {
		r.Detail("admin_creds", strconv.FormatBool(*info.IsAdminCreds))
		if *info.IsAdminCreds {
			r.Facts.Admin = "the cluster manager grants admin rights without credentials"
		}
	}
	if info.IsEnterprise != nil {
		r.Detail("enterprise", strconv.FormatBool(*info.IsEnterprise))
	}
	r.Detail("initialized", strconv.FormatBool(len(info.Pools) > 0))
	return info, true
}

// judgeBuckets reads GET /pools/default/buckets and sets the verdict.
func judgeBuckets(r *gown.Result, resp *httpget.Reply, info poolsInfo) {
	r.Detail("http_status", strconv.Itoa(resp.Status))
	admin := info.IsAdminCreds != nil && *info.IsAdminCreds
	switch resp.Status {
	case http.StatusOK:
	case http.StatusUnauthorized:
		r.Status, r.Reason = gown.StatusAuthRequired, "the bucket list asks for credentials (401)"
		return
	case http.StatusForbidden:
		r.Detail("error", string(resp.Body))
		r.Status, r.Reason = gown.StatusRestricted, "the bucket list is refused to this client (403)"
		return
	case http.StatusNotFound:
		if len(info.Pools) == 0 {
			r.Status, r.Reason = gown.StatusUnknown, "node never initialised: no pool and no buckets, but anyone can set it up"
			return
		}
		fallthrough
	default:
		r.Detail("error", string(resp.Body))
		r.Status, r.Reason = gown.StatusUnknown, fmt.Sprintf("the bucket list answered HTTP %d", resp.Status)
		return
	}
	inv, err := readBuckets(resp.Body, resp.Truncated)
	if err != nil && inv == nil {
		r.Status, r.Reason = gown.StatusUnknown, "the bucket list is not a JSON array"
		r.Error = fmt.Sprintf("couchbase GET %s on %s: %v", bucketsPath, r.Target, err)
		return
	}
	if err != nil {
		r.Error = fmt.Sprintf("couchbase GET %s on %s: reading buckets: %v", bucketsPath, r.Target, err)
	}
	r.Inventory = inv
	switch {
	case len(inv.Databases) > 0:
		r.Status = gown.StatusOpen
		r.Reason = fmt.Sprintf("lists %d buckets without credentials", len(inv.Databases))
	case admin:
		r.Status, r.Reason = gown.StatusOpen, "grants admin rights without credentials; no buckets yet"
	default:
		r.Status, r.Reason = gown.StatusUnknown, "the bucket list is empty without credentials: none readable, or none there"
	}
}
