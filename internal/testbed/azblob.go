package testbed

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/lazyre"
)

// The Azure Blob configurations run Azurite (npm, MIT, Microsoft's own
// emulator) with its Blob service only, telemetry off, and its --debug log,
// which records every request with its method, URL and client address.
// Azurite takes production-style URLs: the account is the first label of
// the Host header (devstoreaccount1.blob.core.windows.net, mapped to
// loopback) and the container the path, as an app names a real container.
//
// The bed plants with SharedKey-signed requests, the well-known
// devstoreaccount1 key Microsoft documents for the emulator; gown sends
// nothing signed.

// AzuriteVersion is the Azurite release the test bed installs.
const AzuriteVersion = "3.37.0"

var azurite = npmPackage{dir: "azurite", specs: []string{"azurite@" + AzuriteVersion},
	main: "node_modules/azurite/dist/src/blob/main.js"}

var azuriteTool = tool{name: "npm azurite", ensure: azurite.ensure}

// AzureAccount is the emulator's account; AzureHost the name apps give it.
const (
	AzureAccount = "devstoreaccount1"
	AzureHost    = AzureAccount + ".blob.core.windows.net"
	// azureKey is the emulator's documented, public account key.
	azureKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// azVariant is one Azurite configuration: one container with a public
// access level.
type azVariant struct {
	name, container string
	access          string // "container", "blob" or "" (private)
}

func azVariants() []azVariant {
	return []azVariant{
		{name: "azblob-container", container: "gown-container-public", access: "container"},
		{name: "azblob-blob", container: "gown-blob-public", access: "blob"},
		{name: "azblob-private", container: "gown-private"},
	}
}

func azblobConfigs() []config {
	var out []config
	for _, v := range azVariants() {
		out = append(out, config{name: v.name, kind: "azblob", pkgs: nodePackages, tools: []tool{azuriteTool},
			start: func(ctx context.Context, log io.Writer, s *Server) error { return startAzurite(ctx, log, s, v) }})
	}
	return out
}

// startAzurite runs azurite-blob on a free port and plants the container.
func startAzurite(ctx context.Context, log io.Writer, s *Server, v azVariant) error {
	script, err := azurite.path(ctx, log)
	if err != nil {
		return err
	}
	node, err := LookBin("node")
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(v.name); err != nil {
		return err
	}
	began := time.Now()
	s.Host, s.Path = AzureHost, "/"+v.container
	s.LogPath, s.logFormat = filepath.Join(s.dir, "debug.log"), logAzurite
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: filepath.Join(s.dir, "stdout.log"), bin: node, timeout: 90 * time.Second,
		env: []string{"NO_UPDATE_NOTIFIER=1"},
		args: func(port uint16) []string {
			return []string{script, "--blobHost", loopback.String(), "--blobPort", strconv.Itoa(int(port)),
				"--loose", "--skipApiVersionCheck", "--disableTelemetry",
				"--location", filepath.Join(s.dir, "data"), "--debug", s.LogPath}
		},
		owned: func(p *proc, addr netip.AddrPort) func(context.Context) bool {
			return func(context.Context) bool { return logSays(p, "successfully listens on http://"+addr.String()) }
		},
	}.run(ctx)
	if err != nil {
		return err
	}
	listening := time.Now()
	c := httpClient(false)
	base := "http://" + s.Addr.String()
	h := map[string]string{}
	if v.access != "" {
		h["x-ms-blob-public-access"] = v.access
	}
	if err := azSigned(ctx, c, "PUT", base, "/"+v.container+"?restype=container", nil, h); err != nil {
		return err
	}
	dbs := map[string]uint64{}
	for _, o := range s3Corpus() {
		err := azSigned(ctx, c, "PUT", base, "/"+v.container+"/"+o[0], []byte(o[1]),
			map[string]string{"x-ms-blob-type": "BlockBlob", "Content-Type": "application/octet-stream"})
		if err != nil {
			return err
		}
		first, _, _ := strings.Cut(o[0], "/")
		dbs[first]++
	}
	switch v.access {
	case "container":
		s.Want = newTruth(gown.StatusOpen, dbs)
		s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, "users", []string{"ransom-note"}
	case "blob":
		// Readable by name, not listable: gown sees no name, so counts
		// nothing and samples nothing.
		s.Want = newTruth(gown.StatusOpen, nil)
	default:
		s.Want = newTruth(gown.StatusAuthRequired, nil)
	}
	s.Want.TLS = gown.TLSNone
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(log, "testbed: %s (container %s, public access %q) on %s (pid %d) ready in %s (start %s, plant %s)\n",
		v.name, v.container, v.access, s.Addr, s.proc.pid(), ms(time.Since(began)), ms(listening.Sub(began)), ms(time.Since(listening)))
	return nil
}

// azSigned sends one SharedKey-signed request (the 2009-09-19+ string to
// sign) for the emulator's account, production-style URL, and wants 2xx.
func azSigned(ctx context.Context, c *http.Client, method, base, pathQuery string, body []byte, header map[string]string) error {
	req, err := http.NewRequestWithContext(ctx, method, base+pathQuery, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Host = AzureHost
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.Header.Set("x-ms-date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("x-ms-version", "2021-08-06")
	length := ""
	if len(body) > 0 {
		length = strconv.Itoa(len(body))
	}
	var names []string
	for k := range req.Header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-ms-") {
			names = append(names, lk)
		}
	}
	slices.Sort(names)
	var canon strings.Builder
	for _, n := range names {
		canon.WriteString(n + ":" + strings.TrimSpace(req.Header.Get(n)) + "\n")
	}
	resource := "/" + AzureAccount + req.URL.EscapedPath()
	q := req.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := slices.Clone(q[k])
		slices.Sort(vs)
		resource += "\n" + strings.ToLower(k) + ":" + strings.Join(vs, ",")
	}
	toSign := strings.Join([]string{method, "", "", length, "", req.Header.Get("Content-Type"), "", "", "", "", "", ""}, "\n") +
		"\n" + canon.String() + resource
	key, err := base64.StdEncoding.DecodeString(azureKey)
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(toSign))
	req.Header.Set("Authorization", "SharedKey "+AzureAccount+":"+base64.StdEncoding.EncodeToString(m.Sum(nil)))
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("testbed: azurite %s %s: %w", method, pathQuery, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("testbed: azurite %s %s: HTTP %d: %.300s", method, pathQuery, resp.StatusCode, b)
	}
	return nil
}

// checkAzblob asks from Source, unsigned, for the listing and for one
// planted blob by name: listed only with container access, read with
// container or blob access, neither when private.
func (s *Server) checkAzblob(ctx context.Context) error {
	c := httpClient(true)
	base := "http://" + s.Addr.String() + s.Path
	host := map[string]string{"Host": s.Host}
	code, body, err := httpReq{method: "GET", url: base + "?restype=container&comp=list", header: host}.do(ctx, c)
	if err != nil {
		return err
	}
	listed := code == 200 && strings.Contains(string(body), "<EnumerationResults")
	code, _, err = httpReq{method: "GET", url: base + "/users/" + People[0].ID + ".json", header: host}.do(ctx, c)
	if err != nil {
		return err
	}
	read := code == 200
	wantList, wantRead := s.Want.Items > 0, s.Want.Status == gown.StatusOpen
	if listed != wantList || read != wantRead {
		return fmt.Errorf("unsigned listing %t (want %t), read by name %t (want %t)", listed, wantList, read, wantRead)
	}
	return nil
}

// azuriteLine matches the request line of Azurite's --debug log:
// "... info: BlobStorageContextMiddleware: RequestMethod=GET
// RequestURL=http://host/c?restype=container RequestHeaders:{...}
// ClientIP=127.0.0.2 Protocol=http HTTPVersion=1.1".
var azuriteLine = lazyre.New(`BlobStorageContextMiddleware: RequestMethod=([A-Z]+) RequestURL=(\S+) .* ClientIP=(\S+)`)

func parseAzurite(line string) (HTTPRequest, bool) {
	m := azuriteLine.FindStringSubmatch(line)
	if m == nil {
		return HTTPRequest{}, false
	}
	path := m[2]
	if _, rest, ok := strings.Cut(path, "://"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			path = rest[i:]
		} else {
			path = "/"
		}
	}
	client := strings.TrimPrefix(m[3], "::ffff:")
	return HTTPRequest{Client: client, Method: m[1], Path: path, Bed: client == loopback.String()}, true
}
