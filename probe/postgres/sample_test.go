package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/jackc/pgx/v5/pgproto3"
)

// TestSampleSQL pins the statements sampling builds: every identifier
// quoted, whatever the server named it, values bounded by left().
func TestSampleSQL(t *testing.T) {
	tb := table{schema: `a"b`, name: `t"; DROP TABLE x; --`, cols: []string{"id", "we\"ird\x00"}, key: 0}
	want := `SELECT left("id"::text, 1024), left("we""ird"::text, 1024) FROM "a""b"."t""; DROP TABLE x; --" LIMIT 5`
	if got := tb.selectRows(5); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	rows := [][]string{{"public", "users", "email", "f"}, {"public", "users", "id", "t"}, {"app", "t", "x", "f"}, {"b", "c", "d", "t"}}
	tables := groupTables(rows, 2)
	if len(tables) != 2 || tables[0].key != 1 || len(tables[0].cols) != 2 || tables[1].key != -1 {
		t.Fatalf("tables %+v", tables)
	}
	x := tables[0].sample("appdata", []string{"a@b.example", "42"})
	y := tables[1].sample("appdata", []string{""})
	if x.Collection != "users" || x.Key != "42" || len(x.Fields) != 2 || y.Collection != "app.t" || len(y.Fields) != 0 {
		t.Errorf("samples %+v %+v", x, y)
	}
}

// hostilePG is a server that lets everyone in, lists tables tables, and
// answers every SELECT with rows rows however many LIMIT asks; a table
// named huge gets a DataRow announcing 100 MB.
type hostilePG struct {
	tables, rows int
	huge         bool
	mu           sync.Mutex
	queries      []string
}

func (h *hostilePG) listen(t *testing.T) gown.Target {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go h.serve(c)
		}
	}()
	ap := l.Addr().(*net.TCPAddr).AddrPort()
	return gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: int(ap.Port())}
}

func (h *hostilePG) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	be := pgproto3.NewBackend(c, c)
	msg, err := be.ReceiveStartupMessage()
	if _, ssl := msg.(*pgproto3.SSLRequest); ssl {
		c.Write([]byte("N"))
		msg, err = be.ReceiveStartupMessage()
	}
	if _, ok := msg.(*pgproto3.StartupMessage); !ok || err != nil {
		return
	}
	be.Send(&pgproto3.AuthenticationOk{})
	be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	be.Flush()
	for {
		msg, err := be.Receive()
		q, ok := msg.(*pgproto3.Query)
		if err != nil || !ok {
			return
		}
		h.mu.Lock()
		h.queries = append(h.queries, q.String)
		h.mu.Unlock()
		switch {
		case q.String == sampleColumnsQuery:
			if h.huge {
				be.Send(&pgproto3.DataRow{Values: [][]byte{[]byte("public"), []byte("huge"), []byte("blob"), []byte("f")}})
			}
			for i := range h.tables {
				be.Send(&pgproto3.DataRow{Values: [][]byte{[]byte("public"), fmt.Appendf(nil, "t%04d", i), []byte("email"), []byte("f")}})
			}
		case strings.Contains(q.String, `"huge"`):
			be.Flush()
			hdr := binary.BigEndian.AppendUint32([]byte{'D'}, 100<<20)
			c.Write(hdr)
			return
		default:
			for range h.rows {
				be.Send(&pgproto3.DataRow{Values: [][]byte{[]byte("a@b.example")}})
			}
		}
		be.Send(&pgproto3.CommandComplete{CommandTag: []byte("SELECT")})
		be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
		if be.Flush() != nil {
			return
		}
	}
}

// TestSampleHostile: a server that lists thousands of tables and answers
// every SELECT with a thousand rows gives no table more than K records and
// gets one SELECT per table up to the collection cap, per database up to
// maxCountDBs; a DataRow announcing 100 MB ends sampling at once with an
// error, without the allocation.
func TestSampleHostile(t *testing.T) {
	lim := probe.SampleLimits{PerCollection: 5, Collections: 10, Bytes: 1 << 20, Timeout: 10 * time.Second}
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 2 * time.Second, MaxRead: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	inv := &gown.Inventory{}
	inv.Add(gown.Database{Name: "template1", System: true})
	for i := range 30 {
		inv.Add(gown.Database{Name: fmt.Sprintf("db%d", i), Items: 1})
	}

	t.Run("rows past LIMIT, tables past the cap", func(t *testing.T) {
		h := &hostilePG{tables: 5000, rows: 1000}
		r := &gown.Result{Status: gown.StatusOpen, Inventory: inv}
		start := time.Now()
		samples, trunc, err := probe.SampleStore(t.Context(), New(), h.listen(t), d, r, lim)
		if err != nil {
			t.Fatal(err)
		}
		per := map[string]int{}
		for _, x := range samples {
			per[x.Database+"/"+x.Collection]++
		}
		for c, n := range per {
			if n > lim.PerCollection {
				t.Errorf("table %s gave %d records", c, n)
			}
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		// One database: the listing, then one SELECT per table up to one
		// past the cap, where SampleStore said full.
		if len(per) != lim.Collections || !trunc || len(h.queries) != 1+lim.Collections+1 {
			t.Errorf("%d tables sampled, truncated %v, %d queries", len(per), trunc, len(h.queries))
		}
		t.Logf("%d records from %d tables, %d queries, %s (truncated %v)", len(samples), len(per), len(h.queries), time.Since(start).Round(time.Millisecond), trunc)
	})

	t.Run("many databases", func(t *testing.T) {
		h := &hostilePG{tables: 0}
		r := &gown.Result{Status: gown.StatusOpen, Inventory: inv}
		if _, _, err := probe.SampleStore(t.Context(), New(), h.listen(t), d, r, lim); err != nil {
			t.Fatal(err)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.queries) != maxCountDBs {
			t.Errorf("%d column listings for %d databases, want %d", len(h.queries), len(inv.Databases), maxCountDBs)
		}
	})

	t.Run("a 100 MB row", func(t *testing.T) {
		h := &hostilePG{tables: 3, rows: 1, huge: true}
		r := &gown.Result{Status: gown.StatusOpen, Inventory: inv}
		samples, _, err := probe.SampleStore(t.Context(), New(), h.listen(t), d, r, lim)
		if !errors.Is(err, gown.ErrReplyTooLarge) || len(samples) != 0 {
			t.Errorf("%d records, error %v", len(samples), err)
		}
	})
}
