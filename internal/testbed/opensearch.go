package testbed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

// The search configurations run embedded nodes from the one Java launcher
// in opensearch/ (a Maven project): OpenSearch 2.19.6 and Elasticsearch
// 7.10.2, each with no security plugin, HTTP on 127.0.0.1 and every request
// traced to the node's output. One OpenSearch node serves three
// configurations: directly (opensearch-open), behind nginx with basic auth
// (opensearch-nginx, the "secure it externally" deployment) and behind
// nginx serving TLS (opensearch-tls).

// opaqueID marks the test bed's own requests in a node's HTTP trace.
const opaqueID = "gown-testbed"

// searchFlavour is one server the launcher runs.
type searchFlavour struct {
	key     string // the resource key and the launcher's first argument
	lib     string // runtime classpath folder under target/
	profile string // Maven profile that fills lib
	Product string
	Version string
}

var (
	flavourOpenSearch = searchFlavour{"opensearch", "lib-opensearch", "opensearch", "OpenSearch", "2.19.6"}
	flavourES7        = searchFlavour{"elasticsearch", "lib-es7", "es7", "Elasticsearch", "7.10.2"}
)

// SearchIndexCorpus is the index of the planted people in the search
// configurations; the ransom note is the one document of index
// SearchRansomIndex. Index names must be lowercase in both servers.
const SearchIndexCorpus = "users"

// SearchRansomIndex is RansomName as an index may be named.
var SearchRansomIndex = strings.ToLower(RansomName)

// searchBulk is the bulkier data beside the corpus: documents per index.
var searchBulk = map[string]int{"customers": 120, "orders": 300}

var javaPackages = []pkg{{"openjdk-17-jre-headless", []string{"java"}}}
var mavenPackages = []pkg{{"openjdk-17-jdk-headless", []string{"javac"}}, {"maven", []string{"mvn"}}}
var nginxPackages = []pkg{{"nginx", []string{"nginx"}}}

// searchTool builds the launcher and both classpaths.
var searchTool = tool{name: "search-node launcher", ensure: func(ctx context.Context, log io.Writer) error {
	_, err := buildLauncher(ctx, log)
	return err
}}

func searchConfigs() []config {
	pkgs := append(append([]pkg(nil), javaPackages...), mavenPackages...)
	front := append(append([]pkg(nil), pkgs...), nginxPackages...)
	tools := []tool{searchTool}
	return []config{
		{name: "opensearch-open", kind: "elasticsearch", pkgs: pkgs, tools: tools, start: startSearchOpen(flavourOpenSearch)},
		{name: "opensearch-nginx", kind: "elasticsearch", pkgs: front, tools: tools, start: startSearchFront(false)},
		{name: "opensearch-tls", kind: "elasticsearch", pkgs: front, tools: tools, start: startSearchFront(true)},
		{name: "opensearch-search-only", kind: "elasticsearch", pkgs: front, tools: tools, start: startSearchOnly},
		{name: "opensearch-forbidden", kind: "elasticsearch", pkgs: front, tools: tools, start: startSearchForbidden},
		{name: "elasticsearch7-open", kind: "elasticsearch", pkgs: pkgs, tools: tools, start: startSearchOpen(flavourES7)},
	}
}

// searchNode is one running node with its planted indices.
type searchNode struct {
	flavour searchFlavour
	proc    *proc
	addr    netip.AddrPort
	dir     string
	logPath string
	dbs     map[string]uint64 // documents planted per index
}

func (n *searchNode) stop() error {
	err := n.proc.stop()
	if rerr := os.RemoveAll(n.dir); rerr != nil {
		err = fmt.Errorf("testbed: remove %s: %w", n.dir, rerr)
	}
	return err
}

// node returns the bed's node of flavour f, starting and planting it on
// first use.
func (s *Server) node(ctx context.Context, log io.Writer, f searchFlavour) (*searchNode, error) {
	v, err := s.res.get(ctx, f.key+"-node", func(ctx context.Context) (any, func() error, error) {
		n, err := startNode(ctx, log, f)
		if n == nil {
			return nil, nil, err
		}
		return n, n.stop, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*searchNode), nil
}

// startNode runs the launcher for f on a free port and plants its indices.
func startNode(ctx context.Context, log io.Writer, f searchFlavour) (*searchNode, error) {
	proj, err := buildLauncher(ctx, log)
	if err != nil {
		return nil, err
	}
	java, err := LookBin("java")
	if err != nil {
		return nil, err
	}
	dir, err := tempDir(f.key)
	if err != nil {
		return nil, err
	}
	n := &searchNode{flavour: f, dir: dir, logPath: filepath.Join(dir, "node.log")}
	cp := filepath.Join(proj, "target", "classes") + string(os.PathListSeparator) + filepath.Join(proj, "target", f.lib, "*")
	began := time.Now()
	n.proc, n.addr, err = launchSpec{ip: loopback, logPath: n.logPath, bin: java, timeout: 3 * time.Minute,
		args: func(port uint16) []string {
			// A modest heap, one GC thread and the client compiler only:
			// the node starts in seconds and leaves the cores to the rest
			// of the bed.
			return []string{"-Xms256m", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
				"-Dlog4j2.disable.jmx=true", "-cp", cp, "org.gownscan.testbed.Node", f.key,
				strconv.Itoa(int(port)), filepath.Join(dir, "home")}
		},
		owned: func(p *proc, addr netip.AddrPort) func(context.Context) bool {
			// The launcher prints this only after GET / answered on the
			// port it was given, so the port is the node's.
			line := "GOWN-TESTBED READY http://" + addr.String()
			return func(context.Context) bool { return logSays(p, line) }
		},
	}.run(ctx)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	up := time.Now()
	if n.dbs, err = n.plant(ctx); err != nil {
		return n, err
	}
	fmt.Fprintf(log, "testbed: %s %s node on %s (pid %d) ready in %s (start %s, plant %s)\n", f.Product, f.Version, n.addr,
		n.proc.pid(), time.Since(began).Round(time.Millisecond), up.Sub(began).Round(time.Millisecond), time.Since(up).Round(time.Millisecond))
	return n, nil
}

// plant creates the indices (one shard, no replica: a single node cannot
// hold replicas), indexes the corpus and the bulk documents in one bulk
// request, refreshes, and reads the counts back.
func (n *searchNode) plant(ctx context.Context) (map[string]uint64, error) {
	c := httpClient(false)
	base := "http://" + n.addr.String()
	hdr := map[string]string{"X-Opaque-Id": opaqueID}
	settings := `{"settings":{"number_of_shards":1,"number_of_replicas":0}`
	indices := map[string]string{
		SearchIndexCorpus: settings + `,"mappings":{"properties":{"location":{"type":"geo_point"}}}}`,
		SearchRansomIndex: settings + "}",
	}
	for idx := range searchBulk {
		indices[idx] = settings + "}"
	}
	want := map[string]uint64{SearchIndexCorpus: uint64(len(People)), SearchRansomIndex: 1}
	for idx, body := range indices {
		if _, err := (httpReq{method: "PUT", url: base + "/" + idx, body: []byte(body), header: hdr}).must(ctx, c); err != nil {
			return nil, fmt.Errorf("testbed: plant %s: %w", n.flavour.Product, err)
		}
	}
	var bulk bytes.Buffer
	add := func(idx, id string, doc any) error {
		line, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		fmt.Fprintf(&bulk, `{"index":{"_index":%q,"_id":%q}}`+"\n%s\n", idx, id, line)
		return nil
	}
	for _, p := range People {
		if err := add(SearchIndexCorpus, p.ID, personDoc(p)); err != nil {
			return nil, err
		}
	}
	if err := add(SearchRansomIndex, "1", map[string]string{"message": RansomMessage}); err != nil {
		return nil, err
	}
	for idx, count := range searchBulk {
		for i := range count {
			doc := map[string]any{"name": fmt.Sprintf("customer %d", i), "plan": []string{"free", "pro"}[i%2], "total": i * 3}
			if idx == "orders" {
				doc = map[string]any{"customer": i % 120, "total": float64(i%97) + 0.5, "status": "shipped"}
			}
			if err := add(idx, strconv.Itoa(i), doc); err != nil {
				return nil, err
			}
		}
		want[idx] = uint64(count)
	}
	b, err := (httpReq{method: "POST", url: base + "/_bulk", body: bulk.Bytes(), ctype: "application/x-ndjson", header: hdr}).must(ctx, c)
	if err == nil && bytes.Contains(b, []byte(`"errors":true`)) {
		err = fmt.Errorf("bulk: %.400s", b)
	}
	if err == nil {
		_, err = (httpReq{method: "POST", url: base + "/_refresh", header: hdr}).must(ctx, c)
	}
	if err != nil {
		return nil, fmt.Errorf("testbed: plant %s: %w", n.flavour.Product, err)
	}
	got, err := catIndices(ctx, c, base, hdr)
	if err != nil {
		return nil, err
	}
	for idx, w := range want {
		if got[idx] != w {
			return nil, fmt.Errorf("testbed: %s index %s holds %d documents, planted %d", n.flavour.Product, idx, got[idx], w)
		}
	}
	return want, nil
}

// personDoc is a planted person as a JSON document: the fields of
// Person.Fields, with the geolocation nested as location {lat, lon} (a
// geo_point in the search indices).
func personDoc(p Person) map[string]any {
	doc := map[string]any{}
	for _, f := range p.Fields() {
		switch f[0] {
		case "lat", "lon":
		default:
			doc[f[0]] = f[1]
		}
	}
	doc["location"] = map[string]string{"lat": p.Lat, "lon": p.Lon}
	return doc
}

// catIndices returns the documents per non-system index.
func catIndices(ctx context.Context, c *http.Client, base string, hdr map[string]string) (map[string]uint64, error) {
	var rows []struct {
		Index string `json:"index"`
		Docs  string `json:"docs.count"`
	}
	code, err := getJSON(ctx, c, base+"/_cat/indices?format=json&h=index,docs.count", hdr, &rows)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("testbed: GET %s/_cat/indices: HTTP %d", base, code)
	}
	out := map[string]uint64{}
	for _, r := range rows {
		if strings.HasPrefix(r.Index, ".") {
			continue
		}
		n, _ := strconv.ParseUint(r.Docs, 10, 64)
		out[r.Index] = n
	}
	return out, nil
}

// searchTruth is the truth of a configuration that shows node's data.
func searchTruth(status gown.Status, n *searchNode, tls gown.TLSMode) Truth {
	t := newTruth(status, n.dbs)
	t.TLS = tls
	if status == gown.StatusOpen {
		t.Classes, t.PIIDatabase, t.Signs = PIIClasses, SearchIndexCorpus, []string{"ransom-note"}
	}
	return t
}

// startSearchOpen serves a node directly: the node is the server.
func startSearchOpen(f searchFlavour) func(context.Context, io.Writer, *Server) error {
	return func(ctx context.Context, log io.Writer, s *Server) error {
		n, err := s.node(ctx, log, f)
		if err != nil {
			return err
		}
		s.proc, s.dir, s.Addr, s.LogPath, s.logFormat = n.proc, n.dir, n.addr, n.logPath, logTracer
		s.stopMore = n.stop
		s.Want = searchTruth(gown.StatusOpen, n, gown.TLSNone)
		return nil
	}
}

// startSearchFront puts nginx in front of the bed's OpenSearch node: with
// basic auth, or serving TLS (and no auth).
func startSearchFront(useTLS bool) func(context.Context, io.Writer, *Server) error {
	return func(ctx context.Context, log io.Writer, s *Server) error {
		n, err := s.node(ctx, log, flavourOpenSearch)
		if err != nil {
			return err
		}
		if err := s.startNginx(ctx, log, n.addr, !useTLS, useTLS, passAll); err != nil {
			return err
		}
		if useTLS {
			s.Want = searchTruth(gown.StatusOpen, n, gown.TLSRequired)
		} else {
			s.Want = searchTruth(gown.StatusAuthRequired, n, gown.TLSNone)
		}
		return nil
	}
}

// startSearchOnly puts nginx in front of the bed's OpenSearch node passing
// only searches: GET /, _cat/indices and _cluster/stats answer 403, yet
// anyone can search every index. The documents are readable: open. The
// truth is uncounted in bytes only (Truth.Unsized): no size is readable.
func startSearchOnly(ctx context.Context, log io.Writer, s *Server) error {
	n, err := s.node(ctx, log, flavourOpenSearch)
	if err != nil {
		return err
	}
	if err := s.startNginx(ctx, log, n.addr, false, false, passSearch); err != nil {
		return err
	}
	s.Want = searchTruth(gown.StatusOpen, n, gown.TLSNone)
	s.Want.Unsized = true
	return nil
}

// startSearchForbidden puts nginx in front of the node refusing every
// request with 403, the search included: reachable, data refused, no
// credentials asked for. Restricted.
func startSearchForbidden(ctx context.Context, log io.Writer, s *Server) error {
	n, err := s.node(ctx, log, flavourOpenSearch)
	if err != nil {
		return err
	}
	if err := s.startNginx(ctx, log, n.addr, false, false, passNone); err != nil {
		return err
	}
	s.Want = searchTruth(gown.StatusRestricted, n, gown.TLSNone)
	return nil
}

// checkSearch asks the server from Source what a scan would, as the test
// bed (X-Opaque-Id set): GET / and, where it must be open, the index
// listing, whose counts must be the planted ones; behind basic auth, a 401
// with a Basic challenge, and 200 with the bed's credentials.
func (s *Server) checkSearch(ctx context.Context) error {
	c := httpClient(true)
	base := s.baseURL()
	hdr := map[string]string{"X-Opaque-Id": opaqueID}
	code, b, err := httpReq{method: "GET", url: base + "/", header: hdr}.do(ctx, c)
	if err != nil {
		return fmt.Errorf("testbed: %s: %w", s.Name, err)
	}
	switch s.Want.Status {
	case gown.StatusOpen:
		if s.Want.Unsized {
			// Search only: GET / is refused, a search answers.
			if code != http.StatusForbidden {
				return fmt.Errorf("testbed: %s: GET / answered %d, want 403", s.Name, code)
			}
			code, b, err = httpReq{method: "GET", url: base + "/_search?size=0", header: hdr}.do(ctx, c)
			if err != nil || code != http.StatusOK || !bytes.Contains(b, []byte(`"hits"`)) {
				return fmt.Errorf("testbed: %s: GET /_search answered %d %.200s (%v)", s.Name, code, b, err)
			}
			return nil
		}
		if code != http.StatusOK || !bytes.Contains(b, []byte(`"number"`)) {
			return fmt.Errorf("testbed: %s: GET / answered %d %.200s", s.Name, code, b)
		}
		got, err := catIndices(ctx, c, base, hdr)
		if err != nil {
			return err
		}
		for idx, w := range s.Want.Databases {
			if got[idx] != w {
				return fmt.Errorf("testbed: %s: index %s holds %d documents, truth %d", s.Name, idx, got[idx], w)
			}
		}
	case gown.StatusRestricted:
		// Everything refused, the search too, without a challenge.
		if code != http.StatusForbidden {
			return fmt.Errorf("testbed: %s: GET / answered %d, want 403", s.Name, code)
		}
		code, _, err = httpReq{method: "GET", url: base + "/_search?size=0", header: hdr}.do(ctx, c)
		if err != nil || code != http.StatusForbidden {
			return fmt.Errorf("testbed: %s: GET /_search answered %d (%v), want 403", s.Name, code, err)
		}
	case gown.StatusAuthRequired:
		if code != http.StatusUnauthorized {
			return fmt.Errorf("testbed: %s: GET / without credentials answered %d, want 401", s.Name, code)
		}
		code, _, err = httpReq{method: "GET", url: base + "/", header: hdr, user: s.User, pass: s.Password}.do(ctx, c)
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("testbed: %s: GET / with the bed's credentials answered %d (%v)", s.Name, code, err)
		}
	default:
		return fmt.Errorf("testbed: %s: no check for status %s", s.Name, s.Want.Status)
	}
	return nil
}

// baseURL is the server's HTTP root.
func (s *Server) baseURL() string {
	if s.TLS {
		return "https://" + s.Addr.String()
	}
	return "http://" + s.Addr.String()
}

// buildLauncher builds the Maven project once per change of its sources
// (both profiles) and returns its folder. Offline first, from the local
// Maven repository; online when that lacks an artifact.
func buildLauncher(ctx context.Context, log io.Writer) (string, error) {
	proj, err := sourceDir("opensearch")
	if err != nil {
		return "", err
	}
	sum, err := treeSum(proj, "pom.xml", "src")
	if err != nil {
		return "", err
	}
	stamp := filepath.Join(proj, "target", ".gown-built")
	built := func() bool {
		b, err := os.ReadFile(stamp)
		if err != nil || strings.TrimSpace(string(b)) != sum {
			return false
		}
		for _, f := range []searchFlavour{flavourOpenSearch, flavourES7} {
			if _, err := os.Stat(filepath.Join(proj, "target", f.lib)); err != nil {
				return false
			}
		}
		return true
	}
	if built() {
		return proj, nil
	}
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	err = withFileLock(ctx, filepath.Join(cache, "search-launcher.lock"), func() error {
		if built() {
			return nil
		}
		if _, err := LookBin("mvn"); err != nil {
			return err
		}
		began := time.Now()
		for _, f := range []searchFlavour{flavourOpenSearch, flavourES7} {
			if err := mvnPackage(ctx, log, proj, f.profile); err != nil {
				return err
			}
		}
		fmt.Fprintf(log, "testbed: built the search-node launcher in %s\n", time.Since(began).Round(time.Second))
		return os.WriteFile(stamp, []byte(sum+"\n"), 0o644)
	})
	return proj, err
}

// mvnPackage runs mvn package for one profile (none when ""), offline
// first.
func mvnPackage(ctx context.Context, log io.Writer, proj, profile string) error {
	var last error
	for _, offline := range []bool{true, false} {
		args := []string{"-B", "-q", "package"}
		if profile != "" {
			args = append([]string{"-B", "-q", "-P" + profile}, "package")
		}
		if offline {
			args = append([]string{"-o"}, args...)
		} else {
			fmt.Fprintf(log, "testbed: mvn %s in %s (downloading from Maven Central)\n", strings.Join(args, " "), filepath.Base(proj))
		}
		cmd := exec.CommandContext(ctx, "mvn", args...)
		cmd.Dir = proj
		var tail tailBuffer
		cmd.Stdout, cmd.Stderr = &tail, &tail
		if last = cmd.Run(); last == nil {
			return nil
		}
		last = fmt.Errorf("testbed: mvn %s in %s: %w: %s", strings.Join(args, " "), proj, last, tail.String())
	}
	return last
}

// treeSum hashes the named files and folders under dir, for a build stamp.
func treeSum(dir string, names ...string) (string, error) {
	h := sha256.New()
	for _, name := range names {
		err := filepath.WalkDir(filepath.Join(dir, name), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			fmt.Fprintf(h, "%s %d\n", rel, len(b))
			h.Write(b)
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("testbed: hash %s: %w", dir, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
