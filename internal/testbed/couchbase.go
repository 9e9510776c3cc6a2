package testbed

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

// couchbase-open runs CouchbaseMock 1.5.25 (Maven Central, Apache-2.0,
// Couchbase's own SDK test server: REST API on one port, each bucket's data
// on a memcached binary protocol port) through the small Java launcher in
// couchbasemock/, which binds every port to 127.0.0.1 (the mock's own main
// binds its REST port on all interfaces) and logs each REST request.
//
// What the mock can and cannot show, from its source (PoolsHandler,
// StateGrabber, Authenticator) and checked against it here:
//   - GET /pools and GET /pools/default/buckets never ask for credentials:
//     the bucket list silently leaves out the buckets with a SASL password.
//     There is no 401 or 403 on either, so the mock cannot show the closed
//     verdicts (auth-required, restricted) gown's couchbase prober reads
//     there; a real Couchbase Server 5+ answers the bucket list with 401.
//   - GET /pools always says "isAdminCreds":true, to anyone, although an
//     anonymous caller is refused every admin request (POST
//     /pools/default/buckets answers 401). A mock whose buckets all have
//     passwords therefore lists none and claims admin rights, and gown,
//     which trusts isAdminCreds, calls it open ("grants admin rights without
//     credentials; no buckets yet"). That would be a false truth, so no such
//     configuration is offered.
//   - The bucket list carries no basicStats, so no itemCount and no
//     diskUsed: gown lists each bucket with 0 items and 0 bytes whatever it
//     holds. couchbase-open plants data over the data port all the same (an
//     SDK's way, without SASL, which is the exposure) and its Truth is
//     Uncounted.

// CouchbaseMockVersion is the CouchbaseMock release the bed runs.
const CouchbaseMockVersion = "1.5.25"

// couchbaseBucket is one bucket of couchbase-open and its planted items.
type couchbaseBucket struct {
	name, typ string // typ as the mock's bucket spec takes it: couchbase or memcache
	items     int
}

// couchbaseBuckets are couchbase-open's buckets, none with a password: a
// Couchbase bucket (vBuckets, documents as JSON) and a memcached bucket.
var couchbaseBuckets = []couchbaseBucket{{"default", "couchbase", 40}, {"cache", "memcache", 25}}

// couchbaseVBuckets is the vBucket count the launcher gives each bucket.
const couchbaseVBuckets = 64

var couchbaseTool = tool{name: "couchbase-mock launcher", ensure: func(ctx context.Context, log io.Writer) error {
	_, err := buildCouchbaseLauncher(ctx, log)
	return err
}}

func couchbaseConfigs() []config {
	return []config{{name: "couchbase-open", kind: "couchbase", pkgs: slices.Concat(javaPackages, mavenPackages),
		tools: []tool{couchbaseTool}, start: startCouchbase}}
}

// startCouchbase runs the launcher on a free loopback port, plants each
// bucket over its data port and records the truth.
func startCouchbase(ctx context.Context, log io.Writer, s *Server) error {
	proj, err := buildCouchbaseLauncher(ctx, log)
	if err != nil {
		return err
	}
	java, err := LookBin("java")
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(s.Name); err != nil {
		return err
	}
	cp := filepath.Join(proj, "target", "classes") + string(os.PathListSeparator) + filepath.Join(proj, "target", "lib", "*")
	var specs []string
	for _, b := range couchbaseBuckets {
		specs = append(specs, b.name+"::"+b.typ)
	}
	began := time.Now()
	// The launcher's output is the mock's request log (HTTPLog).
	s.LogPath, s.logFormat = filepath.Join(s.dir, "mock.log"), logCouchbase
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: s.LogPath, bin: java, timeout: time.Minute,
		args: func(port uint16) []string {
			// A small heap, one GC thread and the client compiler only: the
			// mock starts in about a second.
			return append([]string{"-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
				"-cp", cp, "org.gownscan.testbed.CouchbaseNode", strconv.Itoa(int(port))}, specs...)
		},
		owned: func(p *proc, addr netip.AddrPort) func(context.Context) bool {
			// Printed once the HTTP thread runs on the port it was given
			// (a bind that fails ends the JVM) and every bucket is up.
			line := "GOWN-TESTBED READY http://" + addr.String()
			return func(context.Context) bool { return logSays(p, line) }
		},
	}.run(ctx)
	if err != nil {
		return err
	}
	up := time.Now()
	dbs, err := s.plantCouchbase(ctx)
	if err != nil {
		return err
	}
	s.Want = newTruth(gown.StatusOpen, dbs)
	s.Want.Uncounted, s.Want.Items = true, 0
	s.Want.TLS = gown.TLSNone
	fmt.Fprintf(log, "testbed: %s: CouchbaseMock %s on %s (pid %d) ready in %s (start %s, plant %s)\n", s.Name, CouchbaseMockVersion,
		s.Addr, s.proc.pid(), time.Since(began).Round(time.Millisecond), up.Sub(began).Round(time.Millisecond), time.Since(up).Round(time.Millisecond))
	return nil
}

// cbBucketInfo is the part of a /pools/default/buckets entry the bed reads.
type cbBucketInfo struct {
	Name       string          `json:"name"`
	BucketType string          `json:"bucketType"`
	BasicStats json.RawMessage `json:"basicStats"`
	Nodes      []struct {
		Hostname string `json:"hostname"` // host:REST port
		Ports    struct {
			Direct int `json:"direct"` // the data port
		} `json:"ports"`
	} `json:"nodes"`
}

// dataAddr is the bucket's one data port, as the cluster map names it.
func (b cbBucketInfo) dataAddr() (netip.AddrPort, error) {
	if len(b.Nodes) != 1 {
		return netip.AddrPort{}, fmt.Errorf("bucket %s has %d nodes, the launcher gives one", b.Name, len(b.Nodes))
	}
	host, _, err := net.SplitHostPort(b.Nodes[0].Hostname)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("bucket %s: node %q: %w", b.Name, b.Nodes[0].Hostname, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return netip.AddrPort{}, fmt.Errorf("bucket %s: node %q is not a loopback address", b.Name, b.Nodes[0].Hostname)
	}
	return netip.AddrPortFrom(ip, uint16(b.Nodes[0].Ports.Direct)), nil
}

// bedHeader marks the test bed's own requests in the mock's request log.
var bedHeader = map[string]string{"X-Opaque-Id": opaqueID}

// listCouchbaseBuckets reads GET /pools/default/buckets without
// credentials, as a scan does.
func (s *Server) listCouchbaseBuckets(ctx context.Context, c *http.Client) (map[string]cbBucketInfo, error) {
	var list []cbBucketInfo
	code, err := getJSON(ctx, c, s.baseURL()+"/pools/default/buckets", bedHeader, &list)
	if err != nil {
		return nil, fmt.Errorf("testbed: %s: %w", s.Name, err)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("testbed: %s: GET /pools/default/buckets: HTTP %d", s.Name, code)
	}
	out := map[string]cbBucketInfo{}
	for _, b := range list {
		out[b.Name] = b
	}
	return out, nil
}

// plantCouchbase stores each bucket's items over its data port, without
// SASL, as an SDK would for a bucket without a password, and reads every
// one back.
func (s *Server) plantCouchbase(ctx context.Context) (map[string]uint64, error) {
	listed, err := s.listCouchbaseBuckets(ctx, httpClient(false))
	if err != nil {
		return nil, err
	}
	dbs := map[string]uint64{}
	for _, b := range couchbaseBuckets {
		info, ok := listed[b.name]
		if !ok {
			return nil, fmt.Errorf("testbed: %s: bucket %s not listed", s.Name, b.name)
		}
		addr, err := info.dataAddr()
		if err != nil {
			return nil, fmt.Errorf("testbed: %s: %w", s.Name, err)
		}
		var reqs []byte
		for i := range b.items {
			k, v := couchbaseItem(b, i)
			reqs = append(reqs, cbRequest(mcOpSet, k, make([]byte, 8), v, b.typ)...) // flags 0, no expiry
		}
		if err := cbExchange(ctx, &net.Dialer{Timeout: 5 * time.Second}, addr, reqs, b.items, nil); err != nil {
			return nil, fmt.Errorf("testbed: %s: plant bucket %s: %w", s.Name, b.name, err)
		}
		if n, err := countCouchbaseItems(ctx, &net.Dialer{Timeout: 5 * time.Second}, addr, b); err != nil || n != b.items {
			return nil, fmt.Errorf("testbed: %s: bucket %s holds %d of %d planted items (%v)", s.Name, b.name, n, b.items, err)
		}
		dbs[b.name] = uint64(b.items)
	}
	return dbs, nil
}

// couchbaseItem returns planted item i of bucket b: app documents in the
// Couchbase bucket, session tokens in the memcached bucket.
func couchbaseItem(b couchbaseBucket, i int) (string, string) {
	if b.typ == "memcache" {
		return fmt.Sprintf("session:%04d", i), fmt.Sprintf("token-%04d", i)
	}
	return fmt.Sprintf("order::%04d", i), fmt.Sprintf(`{"type":"order","n":%d,"total":%d.5,"status":"shipped"}`, i, i*3)
}

// countCouchbaseItems reads back every planted key of b over its data
// port and counts those found.
func countCouchbaseItems(ctx context.Context, d *net.Dialer, addr netip.AddrPort, b couchbaseBucket) (int, error) {
	const opGet = 0x00
	var reqs []byte
	for i := range b.items {
		k, _ := couchbaseItem(b, i)
		reqs = append(reqs, cbRequest(opGet, k, nil, "", b.typ)...)
	}
	found := 0
	err := cbExchange(ctx, d, addr, reqs, b.items, func(i int, r mcResponse) {
		if _, v := couchbaseItem(b, i); r.status == 0 && r.value == v {
			found++
		}
	})
	return found, err
}

// cbRequest is mcRequest with the key's vBucket set, as a Couchbase
// bucket requires: CRC32 of the key, bits 16-30, modulo the vBucket count
// (the mock's CouchbaseBucket.getVbIndexForKey). A memcached bucket
// takes vBucket 0.
func cbRequest(op byte, key string, extras []byte, value, typ string) []byte {
	req := mcRequest(op, key, extras, value)
	if typ != "memcache" {
		vb := ((crc32.ChecksumIEEE([]byte(key)) >> 16) & 0x7fff) % couchbaseVBuckets
		binary.BigEndian.PutUint16(req[6:], uint16(vb))
	}
	return req
}

// cbExchange sends reqs on one connection to a data port and reads n
// answers; each must succeed unless each is given (which then judges it).
func cbExchange(ctx context.Context, d *net.Dialer, addr netip.AddrPort, reqs []byte, n int, each func(int, mcResponse)) error {
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return err
	}
	defer c.Close()
	defer connDeadline(ctx, c, 10*time.Second)()
	if _, err := c.Write(reqs); err != nil {
		return err
	}
	r := bufio.NewReader(c)
	for i := range n {
		resp, err := readMCResponse(r)
		if err != nil {
			return fmt.Errorf("answer %d: %w", i, err)
		}
		if each != nil {
			each(i, resp)
		} else if resp.status != 0 {
			return fmt.Errorf("answer %d: status %#x %q", i, resp.status, resp.value)
		}
	}
	return nil
}

// checkCouchbase asks from Source what a scan would: GET /pools names the
// mock, and GET /pools/default/buckets lists exactly the planted buckets,
// without basicStats (the premise of Uncounted: if a later mock reports
// counts, this fails and the truth must change). Then, over each bucket's
// data port and without SASL, every planted item reads back: the data is
// open to anyone, which is what the open truth claims.
func (s *Server) checkCouchbase(ctx context.Context) error {
	if s.Want.Status != gown.StatusOpen {
		return fmt.Errorf("testbed: %s: no check for status %s", s.Name, s.Want.Status)
	}
	c := httpClient(true)
	var pools struct {
		ImplementationVersion string `json:"implementationVersion"`
	}
	if code, err := getJSON(ctx, c, s.baseURL()+"/pools", bedHeader, &pools); err != nil || code != http.StatusOK ||
		pools.ImplementationVersion != "CouchbaseMock" {
		return fmt.Errorf("testbed: %s: GET /pools: %d %q %v", s.Name, code, pools.ImplementationVersion, err)
	}
	listed, err := s.listCouchbaseBuckets(ctx, c)
	if err != nil {
		return err
	}
	if len(listed) != len(s.Want.Databases) {
		return fmt.Errorf("testbed: %s: %d buckets listed without credentials, truth %d", s.Name, len(listed), len(s.Want.Databases))
	}
	for _, b := range couchbaseBuckets {
		info, ok := listed[b.name]
		switch {
		case !ok:
			return fmt.Errorf("testbed: %s: bucket %s not listed without credentials", s.Name, b.name)
		case len(info.BasicStats) > 0 && s.Want.Uncounted:
			return fmt.Errorf("testbed: %s: bucket %s now reports basicStats %.100s: the truth should count", s.Name, b.name, info.BasicStats)
		}
		addr, err := info.dataAddr()
		if err != nil {
			return fmt.Errorf("testbed: %s: %w", s.Name, err)
		}
		if n, err := countCouchbaseItems(ctx, Dialer(), addr, b); err != nil || uint64(n) != s.Want.Databases[b.name] {
			return fmt.Errorf("testbed: %s: bucket %s: %d items read without SASL from %s, truth %d (%v)", s.Name, b.name, n,
				Source, s.Want.Databases[b.name], err)
		}
	}
	return nil
}

// buildCouchbaseLauncher builds the Maven project in couchbasemock/ once
// per change of its sources and returns its folder. Offline first, from
// the local Maven repository; online when that lacks CouchbaseMock.
func buildCouchbaseLauncher(ctx context.Context, log io.Writer) (string, error) {
	proj, err := sourceDir("couchbasemock")
	if err != nil {
		return "", err
	}
	sum, err := treeSum(proj, "pom.xml", "src")
	if err != nil {
		return "", err
	}
	stamp := filepath.Join(proj, "target", ".gown-built")
	jar := filepath.Join(proj, "target", "lib", "CouchbaseMock-"+CouchbaseMockVersion+".jar")
	built := func() bool {
		b, err := os.ReadFile(stamp)
		if err != nil || strings.TrimSpace(string(b)) != sum {
			return false
		}
		_, err = os.Stat(jar)
		return err == nil
	}
	if built() {
		return proj, nil
	}
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	err = withFileLock(ctx, filepath.Join(cache, "couchbase-launcher.lock"), func() error {
		if built() {
			return nil
		}
		if _, err := LookBin("mvn"); err != nil {
			return err
		}
		began := time.Now()
		if err := mvnPackage(ctx, log, proj, ""); err != nil {
			return err
		}
		fmt.Fprintf(log, "testbed: built the CouchbaseMock launcher in %s\n", time.Since(began).Round(time.Second))
		return os.WriteFile(stamp, []byte(sum+"\n"), 0o644)
	})
	return proj, err
}
