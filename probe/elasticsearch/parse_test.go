package elasticsearch

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gownscan/gown"
)

func TestParseBanner(t *testing.T) {
	cases := []struct {
		body, product, version string
		err                    error
	}{
		{`{"version":{"number":"7.10.2"},"tagline":"You Know, for Search"}`, "Elasticsearch", "7.10.2", nil},
		{`{"version":{"number":"2.19.6","distribution":"opensearch"},"tagline":"The OpenSearch Project: https://opensearch.org/"}`, "OpenSearch", "2.19.6", nil},
		{`{"version":{"number":"1.3.0","distribution":"opensearch"},"tagline":"You Know, for Search"}`, "OpenSearch", "1.3.0", nil},
		{`{"tagline":"You Know, for Search"}`, "", "", gown.ErrNotService},
		{`{"version":{"number":"3.3.1"},"couchdb":"Welcome"}`, "", "", gown.ErrNotService},
		{`<html>`, "", "", gown.ErrNotService},
		{`[]`, "", "", gown.ErrNotService},
	}
	for _, c := range cases {
		b, err := parseBanner([]byte(c.body))
		if !errors.Is(err, c.err) || (err == nil && (b.product() != c.product || b.Version.Number != c.version)) {
			t.Errorf("parseBanner(%s) = %+v, %v", c.body, b, err)
		}
	}
}

func TestParseIndices(t *testing.T) {
	cases := []struct {
		body      string
		truncated bool
		n         int
		items     uint64
		bytes     uint64
		trunc     bool
		err       bool
	}{
		{`[]`, false, 0, 0, 0, false, false},
		{`[{"index":"a","docs.count":"5","store.size":"100"},{"index":".kibana","docs.count":"9","store.size":"7"}]`, false, 2, 5, 100, false, false},
		{`[{"index":"closed","status":"close","docs.count":null,"store.size":null}]`, false, 1, 0, 0, false, false},
		{`[{"index":"n","docs.count":12,"store.size":34}]`, false, 1, 12, 34, false, false},
		{`[{"index":"a","docs.count":"18446744073709551615","store.size":"1"}]`, false, 1, 1<<64 - 1, 1, false, false},
		{`[{"index":"a","docs.count":"-1"}]`, false, 0, 0, 0, false, true},
		{`[{"index":"a","docs.count":"1","store.size":"2"},{"index":"b","docs.c`, true, 1, 1, 2, true, false},
		{`{"error":"x"}`, false, 0, 0, 0, false, true},
		{``, false, 0, 0, 0, false, true},
	}
	for _, c := range cases {
		inv, err := parseIndices([]byte(c.body), c.truncated)
		if (err != nil) != c.err {
			t.Errorf("parseIndices(%s) error %v", c.body, err)
			continue
		}
		if err == nil && (len(inv.Databases) != c.n || inv.Items != c.items || inv.Bytes != c.bytes || inv.Truncated != c.trunc) {
			t.Errorf("parseIndices(%s) = %+v", c.body, inv)
		}
	}
}

func TestParseIndicesCap(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("[")
	for i := range maxIndices + 5 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"index":"i%d","docs.count":"1","store.size":"1"}`, i)
	}
	b.WriteString("]")
	inv, err := parseIndices(b.Bytes(), false)
	if err != nil || len(inv.Databases) != maxIndices || !inv.Truncated || inv.Items != maxIndices {
		t.Fatalf("got %d indices truncated=%v err=%v", len(inv.Databases), inv.Truncated, err)
	}
}

func TestParseErrorAndRealm(t *testing.T) {
	e, ok := parseError([]byte(`{"error":{"type":"security_exception","reason":"no"},"status":403}`))
	if !ok || e.Type != "security_exception" || e.Reason != "no" {
		t.Errorf("object error: %+v %v", e, ok)
	}
	if e, ok := parseError([]byte(`{"error":"IndexMissingException[[x] missing]","status":404}`)); !ok || e.Reason == "" {
		t.Errorf("string error (ES 1.x): %+v %v", e, ok)
	}
	if _, ok := parseError([]byte(`{"ok":true}`)); ok {
		t.Error("non-error parsed as error")
	}
	for h, want := range map[string]string{
		`Basic realm="security" charset="UTF-8"`:         "security",
		`Basic realm="` + strings.Repeat("x", 500) + `"`: strings.Repeat("x", 500),
		`Bearer`: "",
	} {
		if got := realm(h); got != want {
			t.Errorf("realm(%.30s) = %.30q", h, got)
		}
	}
}

func TestRansomNote(t *testing.T) {
	for name, want := range map[string]bool{"read_me": true, "README": true, "how_to_recover_data": true,
		"users_meow": true, "customers": false, "orders": false} {
		inv := &gown.Inventory{}
		inv.Add(gown.Database{Name: name})
		if got := ransomNote(inv) != ""; got != want {
			t.Errorf("ransomNote(%s) = %v", name, got)
		}
	}
}
