package testbed

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/lazyre"
)

// FakeGCSVersion is the fake-gcs-server the tools module in
// internal/testbed/fakegcs pins.
const FakeGCSVersion = "v1.56.1"

var fakeGCSTool = tool{name: "fake-gcs-server build", ensure: func(ctx context.Context, log io.Writer) error {
	_, err := fakeGCSBinary(ctx, log)
	return err
}}

// fakeGCSBinary returns the cached fake-gcs-server, building it from the
// tools module when missing.
func fakeGCSBinary(ctx context.Context, log io.Writer) (string, error) {
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "fake-gcs-server-"+FakeGCSVersion, "fake-gcs-server")
	if isProgram(bin) {
		return bin, nil
	}
	err = withFileLock(ctx, filepath.Join(cache, "fake-gcs-server.lock"), func() error {
		if isProgram(bin) {
			return nil
		}
		goBin, err := goTool()
		if err != nil {
			return err
		}
		mod, err := sourceDir("fakegcs")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
			return err
		}
		fmt.Fprintf(log, "testbed: building fake-gcs-server %s from the Go module proxy\n", FakeGCSVersion)
		tmp := bin + ".tmp" + strconv.Itoa(os.Getpid())
		build := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", tmp, "github.com/fsouza/fake-gcs-server")
		build.Dir = mod
		build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false", "GOTOOLCHAIN=local")
		var tail tailBuffer
		build.Stdout, build.Stderr = &tail, &tail
		if err := build.Run(); err != nil {
			os.Remove(tmp)
			return fmt.Errorf("testbed: go build fake-gcs-server: %w: %s", err, tail.String())
		}
		return os.Rename(tmp, bin)
	})
	return bin, err
}

// GCSBucket is gcs-open's bucket: a Firebase project's default Storage
// bucket, as apps name it.
const GCSBucket = "gown-shop.appspot.com"

func gcsConfigs() []config {
	return []config{{name: "gcs-open", kind: "gcs", tools: []tool{fakeGCSTool}, start: startFakeGCS}}
}

// startFakeGCS runs fake-gcs-server over plain HTTP with the bucket's
// objects loaded from a folder at start (the bed writes no API request),
// its access log (client, method, path, status of each request) on stderr.
func startFakeGCS(ctx context.Context, log io.Writer, s *Server) error {
	bin, err := fakeGCSBinary(ctx, log)
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(s.Name); err != nil {
		return err
	}
	began := time.Now()
	data := filepath.Join(s.dir, "data")
	dbs := map[string]uint64{}
	for _, o := range s3Corpus() {
		p := filepath.Join(data, GCSBucket, filepath.FromSlash(o[0]))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(o[1]), 0o644); err != nil {
			return err
		}
		first, _, _ := strings.Cut(o[0], "/")
		dbs[first]++
	}
	s.Host = GCSBucket + ".storage.googleapis.com"
	s.LogPath, s.logFormat = filepath.Join(s.dir, "server.log"), logFakeGCS
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: s.LogPath, bin: bin,
		args: func(port uint16) []string {
			return []string{"-scheme", "http", "-host", loopback.String(), "-port", strconv.Itoa(int(port)),
				"-backend", "memory", "-data", data, "-log-level", "info"}
		},
		owned: func(p *proc, addr netip.AddrPort) func(context.Context) bool {
			return func(context.Context) bool { return logSays(p, "server started at http://"+addr.String()) }
		},
	}.run(ctx)
	if err != nil {
		return err
	}
	s.Want = newTruth(gown.StatusOpen, dbs)
	s.Want.TLS = gown.TLSNone
	s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, "users", []string{"ransom-note"}
	fmt.Fprintf(log, "testbed: %s (bucket %s) on %s (pid %d) ready in %s\n", s.Name, GCSBucket, s.Addr, s.proc.pid(),
		time.Since(began).Round(time.Millisecond))
	return nil
}

// checkGCS lists the bucket from Source and counts what was planted.
func (s *Server) checkGCS(ctx context.Context) error {
	var l struct {
		Items []struct{ Name string } `json:"items"`
	}
	url := "http://" + s.Addr.String() + "/storage/v1/b/" + GCSBucket + "/o"
	code, err := getJSON(ctx, httpClient(true), url, map[string]string{"Host": s.Host}, &l)
	if err != nil {
		return err
	}
	if code != 200 || uint64(len(l.Items)) != s.Want.Items {
		return fmt.Errorf("anonymous objects.list: %d, %d objects; planted %d", code, len(l.Items), s.Want.Items)
	}
	return nil
}

// fakeGCSLine matches fake-gcs-server's access log line inside its slog
// record: msg="127.0.0.2 - - [date] \"GET /storage/v1/b/x/o HTTP/1.1\" 200 907\n".
var fakeGCSLine = lazyre.New(`msg="(\S+) - - \[[^\]]*\] \\"([A-Z]+) (\S+)[^"]*?\\" (\d{3})`)

func parseFakeGCS(line string) (HTTPRequest, bool) {
	m := fakeGCSLine.FindStringSubmatch(line)
	if m == nil {
		return HTTPRequest{}, false
	}
	code, _ := strconv.Atoi(m[4])
	return HTTPRequest{Client: m[1], Method: m[2], Path: m[3], Status: code}, true
}
