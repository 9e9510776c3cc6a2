package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/lazyre"
)

// motoVersion is the moto release the test bed installs from PyPI into a
// virtual environment of its own (Apache-2.0; server mode is moto_server).
const motoVersion = "5.2.5"

// pythonPackages give Debian's python3 with venv and ensurepip.
var pythonPackages = []pkg{{"python3-venv", []string{"/usr/lib/python3*/ensurepip/__init__.py"}}}

var motoTool = tool{name: "pip moto[server]", ensure: func(ctx context.Context, log io.Writer) error {
	_, err := motoServer(ctx, log)
	return err
}}

// motoServer returns moto_server's path, creating the virtual environment
// and installing moto[server] when missing.
func motoServer(ctx context.Context, log io.Writer) (string, error) {
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "moto-"+motoVersion)
	bin := filepath.Join(dir, "bin", "moto_server")
	if isProgram(bin) {
		return bin, nil
	}
	err = withFileLock(ctx, dir+".lock", func() error {
		if isProgram(bin) {
			return nil
		}
		python := "/usr/bin/python3"
		if !isProgram(python) {
			if python, err = LookBin("python3"); err != nil {
				return err
			}
		}
		fmt.Fprintf(log, "testbed: installing moto[server]==%s from PyPI into %s\n", motoVersion, dir)
		steps := [][]string{{python, "-m", "venv", dir},
			{filepath.Join(dir, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check", "moto[server]==" + motoVersion}}
		for _, st := range steps {
			if out, err := exec.CommandContext(ctx, st[0], st[1:]...).CombinedOutput(); err != nil {
				return fmt.Errorf("testbed: %s: %w: %s", strings.Join(st, " "), err, out)
			}
		}
		return nil
	})
	return bin, err
}

// s3Variant is one moto configuration: one bucket, named as an app names
// it (BUCKET.s3.amazonaws.com, mapped to loopback).
type s3Variant struct {
	name, bucket string
	public       bool // objects public-read; else private under a listing moto always answers
}

func s3Variants() []s3Variant {
	return []s3Variant{
		{name: "s3-open", bucket: "gown-open-bucket", public: true},
		{name: "s3-listed", bucket: "gown-listed-bucket"},
	}
}

func s3Configs() []config {
	var out []config
	for _, v := range s3Variants() {
		out = append(out, config{name: v.name, kind: "s3", pkgs: pythonPackages, tools: []tool{motoTool},
			start: func(ctx context.Context, log io.Writer, s *Server) error { return startMoto(ctx, log, s, v) }})
	}
	return out
}

// S3PathHost is an S3-compatible endpoint's name under which moto routes
// by path only: BUCKET.S3PathHost reaches a bucket path style.
const S3PathHost = "storage.gown-test.net"

// s3Exports is how many CSV exports each bucket holds beside the corpus.
const s3Exports = 10

// startMoto runs moto_server with its request log (werkzeug's, one line per
// request with the client address, method and path) and plants a bucket.
func startMoto(ctx context.Context, log io.Writer, s *Server, v s3Variant) error {
	bin, err := motoServer(ctx, log)
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(v.name); err != nil {
		return err
	}
	began := time.Now()
	s.Host = v.bucket + ".s3.amazonaws.com"
	s.LogPath, s.logFormat = filepath.Join(s.dir, "server.log"), logWerkzeug
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: s.LogPath, bin: bin, env: []string{"NO_COLOR=1", "TERM=dumb"},
		args: func(port uint16) []string {
			return []string{"-H", loopback.String(), "-p", fmt.Sprint(port)}
		},
		// Hosts under S3PathHost are an S3-compatible endpoint to moto: it
		// routes their requests by path only, as MinIO and Ceph do, so
		// that path style is tried against a real server too.
		envFor: func(port uint16) []string {
			p := fmt.Sprint(port)
			return []string{"MOTO_S3_CUSTOM_ENDPOINTS=http://" + S3PathHost + ":" + p + ",http://" + v.bucket + "." + S3PathHost + ":" + p}
		},
		timeout: 60 * time.Second,
		owned: func(p *proc, addr netip.AddrPort) func(context.Context) bool {
			return func(context.Context) bool { return logSays(p, "Running on http://"+addr.String()) }
		},
	}.run(ctx)
	if err != nil {
		return err
	}
	listening := time.Now()
	c := httpClient(false)
	base := "http://" + s.Addr.String()
	acl := map[string]string{}
	if v.public {
		acl["x-amz-acl"] = "public-read"
	}
	if _, err := (httpReq{method: "PUT", url: base + "/" + v.bucket, header: acl}).must(ctx, c); err != nil {
		return err
	}
	dbs := map[string]uint64{}
	for _, o := range s3Corpus() {
		if _, err := (httpReq{method: "PUT", url: base + "/" + v.bucket + "/" + o[0], body: []byte(o[1]), ctype: "application/octet-stream", header: acl}).must(ctx, c); err != nil {
			return err
		}
		first, _, _ := strings.Cut(o[0], "/")
		dbs[first]++
	}
	// Listing is not reading: with every object private, the listing's
	// names are all an anonymous client gets, which is restricted.
	s.Want = newTruth(gown.StatusRestricted, dbs)
	if v.public {
		s.Want.Status = gown.StatusOpen
	}
	s.Want.TLS = gown.TLSNone
	if v.public {
		s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, "users", []string{"ransom-note"}
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(log, "testbed: %s (bucket %s) on %s (pid %d) ready in %s (start %s, plant %s)\n",
		v.name, v.bucket, s.Addr, s.proc.pid(), ms(time.Since(began)), ms(listening.Sub(began)), ms(time.Since(listening)))
	return nil
}

// s3Corpus is each bucket's objects: each person as JSON under
// users/<id>.json, CSV exports, and the ransom note as a top-level object.
func s3Corpus() [][2]string {
	var out [][2]string
	for _, p := range People {
		m := map[string]string{}
		for _, f := range p.Fields() {
			m[f[0]] = f[1]
		}
		b, _ := json.Marshal(m) // a map of strings always encodes
		out = append(out, [2]string{"users/" + p.ID + ".json", string(b)})
	}
	for i := range s3Exports {
		out = append(out, [2]string{fmt.Sprintf("exports/2026-%02d.csv", i+1), "day,orders\n1,12\n2,9\n"})
	}
	return append(out, [2]string{RansomName, RansomMessage})
}

// checkS3 lists the bucket from Source, unsigned and virtual-host style,
// and reads one object: listed both ways; the object readable only in the
// public configuration.
func (s *Server) checkS3(ctx context.Context) error {
	c := httpClient(true)
	base := "http://" + s.Addr.String()
	host := map[string]string{"Host": s.Host}
	code, body, err := httpReq{method: "GET", url: base + "/?list-type=2", header: host}.do(ctx, c)
	if err != nil {
		return err
	}
	if code != 200 || !strings.Contains(string(body), "<ListBucketResult") {
		return fmt.Errorf("unsigned listing: %d %.200s", code, body)
	}
	code, _, err = httpReq{method: "GET", url: base + "/users/" + People[0].ID + ".json", header: host}.do(ctx, c)
	if err != nil {
		return err
	}
	public := s.Want.Classes != nil
	if (code == 200) != public {
		return fmt.Errorf("unsigned GET of an object: %d, public %t", code, public)
	}
	return nil
}

// werkzeugLine matches moto's request log (werkzeug's):
// `127.0.0.2 - - [05/Dec/2026 07:43:37] "GET /?list-type=2 HTTP/1.1" 200 -`.
var (
	werkzeugLine = lazyre.New(`^(\S+) - - \[[^\]]*\] "([A-Z]+) (\S+)[^"]*" (\d{3})`)
	ansiEscape   = lazyre.New(`\x1b\[[0-9;]*m`)
)

func parseWerkzeug(line string) (HTTPRequest, bool) {
	m := werkzeugLine.FindStringSubmatch(ansiEscape.ReplaceAllStringFunc(line, func(string) string { return "" }))
	if m == nil {
		return HTTPRequest{}, false
	}
	code := 0
	fmt.Sscan(m[4], &code)
	return HTTPRequest{Client: m[1], Method: m[2], Path: m[3], Status: code, Bed: m[1] == loopback.String()}, true
}
