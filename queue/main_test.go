package queue_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/store"
	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx" for the tests' own SQL counts
)

// The queue's tests run against real parts only: nats-server from Debian
// (JetStream, a fresh server per test, its store in a folder of its own),
// one PostgreSQL cluster for the results store (a database per test), the
// test bed's data stores, and slow listeners of the tests' own standing in
// for servers that answer late.

var (
	storeOnce sync.Once
	storeDB   *testbed.StoreDB
	storeErr  error
	dbSeq     atomic.Int64

	buildOnce sync.Once
	buildDir  string
	gownBin   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := testbed.Main(m)
	if storeDB != nil {
		storeDB.Stop()
	}
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// freshDB creates an empty results-store database and returns its URL.
func freshDB(tb testing.TB) string {
	tb.Helper()
	storeOnce.Do(func() { storeDB, storeErr = testbed.StartStoreDB(context.Background(), os.Stderr) })
	if storeErr != nil {
		unavailable(tb, storeErr)
	}
	url, err := storeDB.Create(tb.Context(), fmt.Sprintf("gown_queue_%d", dbSeq.Add(1)))
	if err != nil {
		tb.Fatal(err)
	}
	return url
}

// unavailable skips on a developer's machine and fails in CI, as the test
// bed does.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("unavailable: %v", err)
	}
	tb.Skipf("unavailable (set CI=true to fail instead): %v", err)
}

// openStore opens the results store at url for the test.
func openStore(tb testing.TB, url string) gown.Store {
	tb.Helper()
	st, err := store.Open(tb.Context(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// sqlDB opens url for the tests' own counting queries.
func sqlDB(tb testing.TB, url string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// storedKeys lists the target keys the scan stored, by SQL, a target as
// often as it was stored: those with a result (targets) and those that
// only finished, a stored batch to a closed_targets row.
func storedKeys(tb testing.TB, db *sql.DB, id gown.ScanID) []string {
	tb.Helper()
	rows, err := db.QueryContext(tb.Context(), `SELECT key FROM targets WHERE scan_id = $1
		UNION ALL SELECT k FROM closed_targets c, json_array_elements_text(c.keys::json) k WHERE c.scan_id = $1`, int64(id))
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			tb.Fatal(err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return keys
}

// buildGown builds the gown binary once per test binary, as
// cmd/gown/resume_test.go does: the workers of the process tests are real
// processes, killed with real signals.
func buildGown(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "gown-queue-bin-"); buildErr != nil {
			return
		}
		gownBin = filepath.Join(buildDir, "gown")
		out, err := exec.Command("go", "build", "-o", gownBin, "../cmd/gown").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return gownBin
}

// farm is a set of slow listeners: each accepts, holds the connection for
// hold without answering, and closes it, like a server that is up but slow
// (or a tarpit). It counts the connections open at once per address, so
// that a test can check what a host saw from all workers together.
type farm struct {
	hold time.Duration
	// greet, when set, is written at once on each connection: a server
	// that has spoken gets the full --io-timeout, not the first-byte
	// deadline (probe/engine.go), so it holds its target for that long.
	greet []byte
	ls    []net.Listener
	mu    sync.Mutex
	open  map[netip.Addr]int
	peak  map[netip.Addr]int
	from  map[netip.Addr]map[netip.Addr]bool // address → client addresses seen
	total atomic.Int64
	wg    sync.WaitGroup
	done  chan struct{}
}

// newFarm listens on ports listeners on each address.
func newFarm(tb testing.TB, hold time.Duration, addrs []netip.Addr, ports int) *farm {
	tb.Helper()
	return newGreetingFarm(tb, hold, nil, addrs, ports)
}

// newGreetingFarm is newFarm with listeners that write greet first.
func newGreetingFarm(tb testing.TB, hold time.Duration, greet []byte, addrs []netip.Addr, ports int) *farm {
	tb.Helper()
	f := &farm{hold: hold, greet: greet, open: map[netip.Addr]int{}, peak: map[netip.Addr]int{},
		from: map[netip.Addr]map[netip.Addr]bool{}, done: make(chan struct{})}
	for _, a := range addrs {
		for range ports {
			l, err := net.Listen("tcp", netip.AddrPortFrom(a, 0).String())
			if err != nil {
				tb.Fatal(err)
			}
			f.ls = append(f.ls, l)
			f.wg.Go(func() { f.serve(l) })
		}
	}
	tb.Cleanup(f.close)
	return f
}

func (f *farm) serve(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		f.wg.Go(func() {
			a := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr()
			f.mu.Lock()
			f.open[a]++
			f.peak[a] = max(f.peak[a], f.open[a])
			if f.from[a] == nil {
				f.from[a] = map[netip.Addr]bool{}
			}
			f.from[a][c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr()] = true
			f.mu.Unlock()
			f.total.Add(1)
			if f.greet != nil {
				c.Write(f.greet)
			}
			// Drain what the client sends, answer nothing, hang up late
			// (or when the client does). The count drops before the close,
			// so a client's next connect is never counted with this one.
			gone := make(chan struct{})
			go func() { io.Copy(io.Discard, c); close(gone) }()
			select {
			case <-time.After(f.hold):
			case <-gone:
			case <-f.done:
			}
			f.mu.Lock()
			f.open[a]--
			f.mu.Unlock()
			c.Close()
		})
	}
}

func (f *farm) close() {
	select {
	case <-f.done:
		return
	default:
	}
	close(f.done)
	for _, l := range f.ls {
		l.Close()
	}
	f.wg.Wait()
}

// targets are the farm's listeners as redis:// URLs: one prober, one
// connection per target, each held for the farm's hold.
func (f *farm) targets() []string {
	var out []string
	for _, l := range f.ls {
		out = append(out, "redis://"+l.Addr().String())
	}
	return out
}

// peakOf is the most connections one address had open at once.
func (f *farm) peakOf(a netip.Addr) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.peak[a]
}

// clientsOf counts the client addresses that connected to a.
func (f *farm) clientsOf(a netip.Addr) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.from[a])
}

// closedTargets are n loopback addresses with ports nothing listens on:
// refused at once, spread over many addresses so over many partitions.
func closedTargets(n, perAddr int) []string {
	var out []string
	for i := range n {
		for p := range perAddr {
			out = append(out, fmt.Sprintf("127.0.%d.%d:%d", 50+i/250, 1+i%250, 1+p))
		}
	}
	return out
}

// addrs returns n loopback addresses of 127.0.net.x.
func addrs(net, n int) []netip.Addr {
	var out []netip.Addr
	for i := range n {
		out = append(out, netip.AddrFrom4([4]byte{127, 0, byte(net), byte(1 + i)}))
	}
	return out
}

// writeList writes targets to a list file, one per line.
func writeList(tb testing.TB, dir string, targets []string) string {
	tb.Helper()
	p := filepath.Join(dir, "targets.txt")
	if err := os.WriteFile(p, []byte(strings.Join(targets, "\n")+"\n"), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}
