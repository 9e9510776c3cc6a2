package testbed

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

// etcdVariant is one etcd configuration.
type etcdVariant struct {
	name string
	want gown.Status
	auth bool // a root user and auth enabled after planting
	// tls: the client port serves https only, with a self-signed
	// certificate for CN=gown-testbed-etcd-tls (no client certificates).
	tls bool
}

var etcdPackages = []pkg{{"etcd-server", []string{"etcd"}}}

func etcdVariants() []etcdVariant {
	return []etcdVariant{
		{name: "etcd-open", want: gown.StatusOpen},
		{name: "etcd-auth", want: gown.StatusAuthRequired, auth: true},
		{name: "etcd-tls", want: gown.StatusOpen, tls: true},
	}
}

func etcdConfigs() []config {
	var out []config
	for _, v := range etcdVariants() {
		out = append(out, config{name: v.name, kind: "etcd", pkgs: etcdPackages,
			start: func(ctx context.Context, log io.Writer, s *Server) error { return startEtcd(ctx, log, s, v) }})
	}
	return out
}

// etcdConfigKeys is how many plain configuration keys etcd-open holds
// beside the corpus and the devices; etcdDevices how many device records.
const (
	etcdConfigKeys = 12
	etcdDevices    = 8
)

// startEtcd runs a single-member etcd 3.4 with its debug log on stderr:
// zap's "request stats" line for every v3 request it serves, naming the
// method (/etcdserverpb.KV/Range), is the server's own record of what a
// scan sent. Its metrics (/metrics: etcd_mvcc_put_total, …) count writes
// apart from reads.
func startEtcd(ctx context.Context, log io.Writer, s *Server, v etcdVariant) error {
	bin, err := LookBin("etcd")
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(v.name); err != nil {
		return err
	}
	began := time.Now()
	scheme, tlsArgs := "http://", []string(nil)
	if v.tls {
		cert, key, err := selfSigned("gown-testbed-" + v.name)
		if err != nil {
			return err
		}
		cf, kf := s.dir+"/cert.pem", s.dir+"/key.pem"
		if err := writeOwned(cf, string(cert), nil); err != nil {
			return err
		}
		if err := writeOwned(kf, string(key), nil); err != nil {
			return err
		}
		scheme, tlsArgs, s.TLS = "https://", []string{"--cert-file", cf, "--key-file", kf}, true
	}
	s.LogPath = s.dir + "/server.log"
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: s.LogPath, bin: bin,
		args: func(port uint16) []string {
			peer, err := freePort(loopback)
			if err != nil {
				return []string{"--no-such-flag"} // fails at once; run reports the exit
			}
			client := scheme + netip.AddrPortFrom(loopback, port).String()
			peerURL := "http://" + peer.String()
			return append([]string{"--name", "gown-testbed", "--data-dir", s.dir + "/data",
				"--listen-client-urls", client, "--advertise-client-urls", client,
				"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
				"--initial-cluster", "gown-testbed=" + peerURL,
				"--logger", "zap", "--log-level", "debug", "--log-outputs", "stderr"}, tlsArgs...)
		},
		owned: func(p *proc, _ netip.AddrPort) func(context.Context) bool {
			return func(context.Context) bool { return logSays(p, "published local member to cluster through raft") }
		},
	}.run(ctx)
	if err != nil {
		return err
	}
	listening := time.Now()
	kvs := etcdCorpus()
	if v.auth {
		kvs = nil
		for i := range 6 {
			kvs = append(kvs, [2]string{fmt.Sprintf("/app/setting-%d", i+1), "on"})
		}
	}
	dbs := map[string]uint64{}
	for _, kv := range kvs {
		if _, err := s.etcdCall(ctx, "/v3/kv/put", map[string]string{"key": b64s(kv[0]), "value": b64s(kv[1])}); err != nil {
			return err
		}
		first, _, _ := strings.Cut(strings.TrimPrefix(kv[0], "/"), "/")
		dbs[first]++
	}
	if v.auth {
		s.User, s.Password = "root", secret()
		for _, step := range []struct {
			path string
			body map[string]string
		}{
			{"/v3/auth/role/add", map[string]string{"name": "root"}},
			{"/v3/auth/user/add", map[string]string{"name": "root", "password": s.Password}},
			{"/v3/auth/user/grant", map[string]string{"user": "root", "role": "root"}},
			{"/v3/auth/enable", map[string]string{}},
		} {
			if _, err := s.etcdCall(ctx, step.path, step.body); err != nil {
				return err
			}
		}
	}
	s.Want = newTruth(v.want, dbs)
	s.Want.TLS = gown.TLSNone
	if v.tls {
		s.Want.TLS = gown.TLSRequired
	}
	if v.want == gown.StatusOpen {
		s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, "users", []string{"ransom-note"}
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(log, "testbed: %s on %s (pid %d) ready in %s (start %s, plant %s)\n",
		v.name, s.Addr, s.proc.pid(), ms(time.Since(began)), ms(listening.Sub(began)), ms(time.Since(listening)))
	return nil
}

func b64s(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// etcdCorpus is what etcd-open holds: each person as JSON under
// /users/<id>, plain configuration keys, device records and the ransom note
// as a top-level key.
func etcdCorpus() [][2]string {
	var out [][2]string
	for _, p := range People {
		m := map[string]string{}
		for _, f := range p.Fields() {
			m[f[0]] = f[1]
		}
		b, _ := json.Marshal(m) // a map of strings always encodes
		out = append(out, [2]string{"/users/" + p.ID, string(b)})
	}
	for i := range etcdConfigKeys {
		out = append(out, [2]string{fmt.Sprintf("/config/service-%02d/replicas", i+1), strconv.Itoa(1 + i%3)})
	}
	for i := range etcdDevices {
		out = append(out, [2]string{fmt.Sprintf("/devices/dev-%02d", i+1), fmt.Sprintf(`{"model":"gateway-%d","firmware":"2.%d.0"}`, i%3, i)})
	}
	return append(out, [2]string{RansomName, RansomMessage})
}

// etcdCall posts a JSON body to etcd's gateway as the bed (from
// 127.0.0.1, without credentials) and returns the reply body; a status
// other than 200 is an error.
func (s *Server) etcdCall(ctx context.Context, path string, body any) ([]byte, error) {
	return etcdPost(ctx, nil, s.Addr, s.TLS, path, body)
}

// etcdPost posts body to path without credentials, from src when set
// (the bed plants before it enables auth).
func etcdPost(ctx context.Context, src *net.TCPAddr, addr netip.AddrPort, useTLS bool, path string, body any) ([]byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	scheme := "http://"
	if useTLS {
		scheme = "https://"
	}
	req, err := http.NewRequestWithContext(ctx, "POST", scheme+addr.String()+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: src, Timeout: 5 * time.Second}).DialContext,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the test bed's own self-signed certificate
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("testbed: etcd %s: %w", path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("testbed: etcd %s: %w", path, err)
	}
	if resp.StatusCode != 200 {
		return out, fmt.Errorf("testbed: etcd %s: %d %s", path, resp.StatusCode, out)
	}
	return out, nil
}

// checkEtcd counts the keys anonymously from Source: the planted number
// (open), or refused with "user name is empty" (auth-required).
func (s *Server) checkEtcd(ctx context.Context) error {
	src := net.TCPAddrFromAddrPort(netip.AddrPortFrom(Source, 0))
	out, err := etcdPost(ctx, src, s.Addr, s.TLS, "/v3/kv/range", map[string]any{"key": "AA==", "range_end": "AA==", "count_only": true})
	if s.Want.Status == gown.StatusAuthRequired {
		if err == nil || !strings.Contains(string(out), "user name is empty") {
			return fmt.Errorf("anonymous range: %s, %v; want refused", out, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	var r struct {
		Count string `json:"count"`
	}
	if json.Unmarshal(out, &r) != nil || r.Count != strconv.FormatUint(s.Want.Items, 10) {
		return fmt.Errorf("anonymous range counts %q keys, planted %d", r.Count, s.Want.Items)
	}
	return nil
}

// EtcdRequests returns the v3 methods etcd logged serving from byte mark
// of its log on ("/etcdserverpb.KV/Range", …), from zap's "request stats"
// debug lines.
func (s *Server) EtcdRequests(mark int64) ([]string, error) {
	text, err := s.logSince(mark)
	if err != nil {
		return nil, err
	}
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		var l struct {
			Msg  string `json:"msg"`
			Type string `json:"response type"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request stats" {
			out = append(out, l.Type)
		}
	}
	return out, nil
}

// EtcdWrites reads etcd's own counters of writes (puts, deletes,
// transactions) from /metrics: a read-only scan leaves their sum as it
// was.
func (s *Server) EtcdWrites(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	scheme := "http://"
	if s.TLS {
		scheme = "https://"
	}
	req, err := http.NewRequestWithContext(ctx, "GET", scheme+s.Addr.String()+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := httpClient(false).Do(req)
	if err != nil {
		return 0, fmt.Errorf("testbed: etcd metrics: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, err
	}
	var sum uint64
	found := 0
	for line := range strings.SplitSeq(string(body), "\n") {
		name, val, ok := strings.Cut(line, " ")
		switch name {
		case "etcd_mvcc_put_total", "etcd_mvcc_delete_total", "etcd_mvcc_txn_total":
			n, err := strconv.ParseFloat(val, 64)
			if ok && err == nil {
				sum += uint64(n)
				found++
			}
		}
	}
	if found != 3 {
		return 0, fmt.Errorf("testbed: etcd metrics lack the write counters (%d of 3)", found)
	}
	return sum, nil
}
