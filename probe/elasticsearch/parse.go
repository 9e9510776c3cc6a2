package elasticsearch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

// maxIndices caps the indices kept from _cat/indices; a cluster with more
// is reported as Truncated.
const maxIndices = 1000

// tagline is what Elasticsearch (and OpenSearch 1.x) answer on GET /.
const tagline = "You Know, for Search"

// banner is the part of GET / that identifies the store.
type banner struct {
	Name        string `json:"name"`
	ClusterName string `json:"cluster_name"`
	Version     struct {
		Number       string `json:"number"`
		Distribution string `json:"distribution"`
		BuildFlavor  string `json:"build_flavor"`
	} `json:"version"`
	Tagline string `json:"tagline"`
}

// product names what answered: OpenSearch says so in version.distribution.
func (b *banner) product() string {
	if strings.EqualFold(b.Version.Distribution, "opensearch") {
		return "OpenSearch"
	}
	return "Elasticsearch"
}

// parseBanner decodes GET / and says whether it is Elasticsearch or
// OpenSearch: a version number plus either the classic tagline or the
// OpenSearch distribution (OpenSearch 2 changed its tagline to "The
// OpenSearch Project: https://opensearch.org/"). Anything else is
// gown.ErrNotService.
func parseBanner(body []byte) (*banner, error) {
	var b banner
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, fmt.Errorf("%w: GET / is not JSON: %v", gown.ErrNotService, err)
	}
	isES := b.Tagline == tagline || strings.EqualFold(b.Version.Distribution, "opensearch")
	if b.Version.Number == "" || !isES {
		return nil, fmt.Errorf("%w: GET / is JSON without the Elasticsearch tagline and version", gown.ErrNotService)
	}
	return &b, nil
}

// catIndex is one row of _cat/indices?format=json. The counts arrive as
// strings ("120"), as null for a closed index, and as numbers from some
// proxies, so they are decoded loosely.
type catIndex struct {
	Index     string    `json:"index"`
	Health    string    `json:"health"`
	Status    string    `json:"status"`
	DocsCount jsonCount `json:"docs.count"`
	StoreSize jsonCount `json:"store.size"`
}

// jsonCount is a non-negative integer sent as a JSON string, number or null.
type jsonCount uint64

// UnmarshalJSON accepts "123", 123 and null; anything else is an error.
func (c *jsonCount) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "null" || s == "" {
		*c = 0
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("count %.20q: %w", s, err)
	}
	*c = jsonCount(n)
	return nil
}

// parseIndices turns _cat/indices into an inventory, keeping at most
// maxIndices rows. A body cut short by the read cap still yields the rows
// decoded before the cut, marked Truncated.
func parseIndices(body []byte, truncated bool) (*gown.Inventory, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: _cat/indices: %v", gown.ErrProtocol, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("%w: _cat/indices is not a JSON array", gown.ErrProtocol)
	}
	inv := &gown.Inventory{Truncated: truncated}
	for dec.More() {
		if len(inv.Databases) == maxIndices {
			inv.Truncated = true
			break
		}
		var row catIndex
		if err := dec.Decode(&row); err != nil {
			if truncated && len(inv.Databases) > 0 {
				break // the cut fell inside this row
			}
			return nil, fmt.Errorf("%w: _cat/indices row: %v", gown.ErrProtocol, err)
		}
		inv.Add(gown.Database{
			Name:   row.Index,
			Items:  uint64(row.DocsCount),
			Bytes:  uint64(row.StoreSize),
			System: strings.HasPrefix(row.Index, "."),
		})
	}
	return inv, nil
}

// clusterStats is the filtered _cluster/stats reply.
type clusterStats struct {
	Indices struct {
		Count uint64 `json:"count"`
		Docs  struct {
			Count uint64 `json:"count"`
		} `json:"docs"`
		Store struct {
			SizeInBytes uint64 `json:"size_in_bytes"`
		} `json:"store"`
	} `json:"indices"`
}

// parseStats decodes _cluster/stats?filter_path=... into its three totals.
func parseStats(body []byte) (*clusterStats, error) {
	var s clusterStats
	if err := json.Unmarshal(body, &s); err != nil {
		return nil, fmt.Errorf("%w: _cluster/stats: %v", gown.ErrProtocol, err)
	}
	return &s, nil
}

// esError is the error envelope Elasticsearch wraps refusals in:
// {"error":{"type":"security_exception","reason":"..."},"status":403}.
// Very old versions send "error" as a plain string.
type esError struct {
	Type   string
	Reason string
}

// parseError pulls type and reason out of an error reply, or returns false
// when the body is not Elasticsearch's error shape.
func parseError(body []byte) (esError, bool) {
	var env struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil || len(env.Error) == 0 {
		return esError{}, false
	}
	var obj struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(env.Error, &obj); err == nil && obj.Type != "" {
		return esError{Type: obj.Type, Reason: obj.Reason}, true
	}
	var s string
	if err := json.Unmarshal(env.Error, &s); err == nil && s != "" {
		return esError{Reason: s}, true
	}
	return esError{}, false
}

// realm takes the realm out of a WWW-Authenticate header
// (Basic realm="security" charset="UTF-8").
func realm(h string) string {
	_, after, ok := strings.Cut(h, `realm="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, `"`)
	return v
}

// ransomNames are index names that ransom bots leave after wiping a cluster.
var ransomNames = []string{"read_me", "readme", "how_to_recover", "recover_your_data",
	"contact_us_or_your_data_will_be_leaked", "warning", "please_read_me"}

// ransomNote returns the first index whose name looks like a ransom note.
func ransomNote(inv *gown.Inventory) string {
	for _, d := range inv.Databases {
		n := strings.ToLower(d.Name)
		if strings.HasSuffix(n, "meow") {
			return d.Name
		}
		for _, r := range ransomNames {
			if n == r || strings.HasPrefix(n, r) {
				return d.Name
			}
		}
	}
	return ""
}
