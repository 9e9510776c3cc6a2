package assess

import (
	_ "embed" // data tables
	"encoding/json"
	"strconv"
	"strings"
	"sync"
)

// Data tables kept as JSON in assess/data, so that adding a honeypot
// banner or a product's end of life is a data change.

//go:embed data/honeypots.json
var honeypotsJSON []byte

//go:embed data/versions.json
var versionsJSON []byte

// cannedBanner is one honeypot's out-of-the-box banner.
type cannedBanner struct {
	Name      string            `json:"name"`
	Store     string            `json:"store"`
	Product   string            `json:"product"`
	Version   string            `json:"version"`
	Details   map[string]string `json:"details"`
	Databases []string          `json:"databases"`
	Source    string            `json:"source"`
}

// minVersion is the oldest supported release line of a product.
type minVersion struct {
	Product string `json:"product"`
	Version string `json:"version"`
	EOL     string `json:"eol"`
}

// The tables are decoded on first use, not at init, which every gown
// command would pay for.
var (
	cannedBanners = sync.OnceValue(func() []cannedBanner {
		return mustJSON[struct {
			Honeypots []cannedBanner `json:"honeypots"`
		}](honeypotsJSON, "data/honeypots.json").Honeypots
	})
	minVersions = sync.OnceValue(func() []minVersion {
		return mustJSON[struct {
			Checked string       `json:"checked"`
			Minimum []minVersion `json:"minimum"`
		}](versionsJSON, "data/versions.json").Minimum
	})
)

// mustJSON decodes an embedded table; a broken table is a programmer's
// error caught by every test run.
func mustJSON[T any](b []byte, name string) T {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		panic("assess: " + name + ": " + err.Error())
	}
	return v
}

// versionParts reads the leading dotted numbers of a version string:
// "10.11.6-MariaDB-0+deb12u1" → [10 11 6], "16.4 (Debian …)" → [16 4].
func versionParts(v string) []int {
	v = strings.TrimSpace(v)
	// MariaDB through the MySQL protocol says "5.5.5-10.11.6-MariaDB".
	if rest, ok := strings.CutPrefix(v, "5.5.5-"); ok {
		v = rest
	}
	var out []int
	for _, p := range strings.Split(v, ".") {
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		if end == 0 {
			break
		}
		n, err := strconv.Atoi(p[:end])
		if err != nil {
			break
		}
		out = append(out, n)
		if end < len(p) {
			break
		}
	}
	return out
}

// older reports whether version a is older than b, comparing the parts b
// has: "7.10.2" is older than "7.17", "7.17.5" is not.
func older(a, b []int) bool {
	for i, n := range b {
		if i >= len(a) {
			return false
		}
		if a[i] != n {
			return a[i] < n
		}
	}
	return false
}

// outdated returns the end-of-life note when a product's version is older
// than its oldest supported line.
func outdated(product, version string) (minVersion, bool) {
	have := versionParts(version)
	if len(have) == 0 {
		return minVersion{}, false
	}
	for _, m := range minVersions() {
		if strings.EqualFold(m.Product, product) && older(have, versionParts(m.Version)) {
			return m, true
		}
	}
	return minVersion{}, false
}
