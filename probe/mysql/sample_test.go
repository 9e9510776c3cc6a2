package mysql

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
)

// TestSelectRowsQuotes: identifiers a hostile server names its tables with
// stay identifiers; nothing breaks out of the quoting.
func TestSelectRowsQuotes(t *testing.T) {
	got := selectRows(table{schema: "a`b", name: "t`; DROP TABLE x; --", cols: []string{"id", "we`ird\x00"}}, 5)
	want := "SELECT LEFT(`id`, 1024), LEFT(`we``ird`, 1024) FROM `a``b`.`t``; DROP TABLE x; --` LIMIT 5"
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// TestColumnsGroupsTables: the column listing becomes one table per
// (schema, table), columns in order, the primary key noted, at most
// maxTables tables.
func TestColumnsGroupsTables(t *testing.T) {
	rows := [][]value{
		{{s: "app"}, {s: "users"}, {s: "email"}, {s: "UNI"}}, {{s: "app"}, {s: "users"}, {s: "id"}, {s: "PRI"}},
		{{s: "app"}, {s: "orders"}, {s: "id"}, {s: ""}}, {{s: "shop"}, {s: "items"}, {s: "sku"}, {s: "PRI"}},
	}
	var tables []table
	for _, max := range []int{3, 2} {
		tables = groupColumns(rows, max)
		if len(tables) != max {
			t.Fatalf("max %d: %d tables", max, len(tables))
		}
	}
	if tables[0].name != "users" || len(tables[0].cols) != 2 || tables[0].cols[1] != "id" || tables[0].key != 1 ||
		tables[1].name != "orders" || tables[1].key != -1 {
		t.Fatalf("tables %+v", tables)
	}
	x := tables[0].sample([]value{{s: "a@b.example"}, {s: "42"}})
	if x.Key != "42" || len(x.Fields) != 2 || x.Fields[0] != (gown.Field{Path: "email", Value: "a@b.example"}) {
		t.Errorf("sample %+v", x)
	}
}

// resultSet builds the packets of a text resultset with the given column
// count and rows ("" stands for NULL), without DEPRECATE_EOF's changes:
// header, column definitions, EOF, rows, EOF.
func resultSet(cols int, rows [][]string) [][]byte {
	ps := [][]byte{{byte(cols)}}
	for i := range cols {
		name := fmt.Sprintf("c%d", i)
		col := append(lenEnc("def"), lenEnc("s")...)
		col = append(append(append(col, lenEnc("t")...), lenEnc("t")...), lenEnc(name)...)
		col = append(append(col, lenEnc(name)...), 0x0c, 45, 0, 0, 1, 0, 0xfd, 0, 0, 0, 0, 0)
		ps = append(ps, col)
	}
	ps = append(ps, []byte{0xFE, 0, 0, 2, 0})
	for _, r := range rows {
		var row []byte
		for _, v := range r {
			if v == "" {
				row = append(row, 0xFB)
			} else {
				row = append(row, lenEnc(v)...)
			}
		}
		ps = append(ps, row)
	}
	return append(ps, []byte{0xFE, 0, 0, 2, 0})
}

// hostileServer logs the client in and then answers the column listing
// with tables tables, and every SELECT with rows rows of one column however
// many the LIMIT says. With huge, the listing starts with a table whose
// SELECT gets a row packet announcing 16 MB. It records the queries it
// received.
func hostileServer(tables, rows int, huge bool, queries *[]string) handler {
	return func(t *testing.T, c net.Conn) {
		send(t, c, 0, greetingPayload("5.5.5-10.11.19-MariaDB-0+deb12u1", "mysql_native_password", capsNoDepr))
		recv(t, c, 1)
		send(t, c, 2, okPayload())
		var listing [][]string
		if huge {
			listing = append(listing, []string{"app", "huge", "blob", "PRI"})
		}
		for i := range tables {
			listing = append(listing, []string{"app", fmt.Sprintf("t%04d", i), "email", ""})
		}
		many := make([][]string, rows)
		for i := range many {
			many[i] = []string{"a@b.example"}
		}
		for {
			_, q, err := readPacket(c, maxPacket)
			if err != nil || len(q) == 0 || q[0] != comQuery {
				return // COM_QUIT, or the client hung up
			}
			*queries = append(*queries, string(q[1:]))
			ps := resultSet(1, many)
			switch {
			case strings.HasPrefix(string(q[1:]), columnsQuery):
				ps = resultSet(4, listing)
			case strings.Contains(string(q), "`huge`"):
				// Header, column, EOF, then a row announcing 16 MB and nothing.
				ps = resultSet(1, nil)[:3]
				for i, p := range ps {
					send(t, c, byte(i+1), p)
				}
				c.Write([]byte{0xff, 0xff, 0xfe, 4})
				continue
			}
			for i, p := range ps {
				send(t, c, byte(i+1), p)
			}
		}
	}
}

// TestSampleHostile: a server that lists thousands of tables and answers
// every SELECT with a thousand rows gives no table more than K records and
// gets one SELECT per table up to the collection cap; a row packet
// announcing 16 MB ends sampling at once with an error, without the
// allocation.
func TestSampleHostile(t *testing.T) {
	lim := probe.SampleLimits{PerCollection: 5, Collections: 10, Bytes: 1 << 20, Timeout: 10 * time.Second}
	d, err := probe.NewDialer(probe.DialerConfig{IOTimeout: 2 * time.Second, MaxRead: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	sample := func(t *testing.T, h handler, login string) ([]gown.Sample, bool, error) {
		port := replay(t, h)
		tg := gown.Target{Host: "127.0.0.1", Addr: netip.MustParseAddr("127.0.0.1"), Port: port}
		r := &gown.Result{Status: gown.StatusOpen, Details: map[string]string{"login": login}}
		return probe.SampleStore(t.Context(), New(), tg, d, r, lim)
	}

	t.Run("rows past LIMIT, tables past the cap", func(t *testing.T) {
		var queries []string
		start := time.Now()
		samples, trunc, err := sample(t, hostileServer(5000, 1000, false, &queries), "anonymous")
		if err != nil {
			t.Fatal(err)
		}
		per := map[string]int{}
		for _, x := range samples {
			per[x.Collection]++
		}
		for c, n := range per {
			if n > lim.PerCollection {
				t.Errorf("table %s gave %d records", c, n)
			}
		}
		// The listing, then one SELECT per table up to one past the cap.
		if len(per) != lim.Collections || !trunc || len(queries) != 1+lim.Collections+1 {
			t.Errorf("%d tables sampled, truncated %v, %d queries", len(per), trunc, len(queries))
		}
		t.Logf("%d records from %d tables, %d queries, %s (truncated %v)", len(samples), len(per), len(queries), time.Since(start).Round(time.Millisecond), trunc)
	})

	t.Run("a 16 MB row", func(t *testing.T) {
		var queries []string
		samples, _, err := sample(t, hostileServer(3, 1, true, &queries), "root with empty password")
		if !errors.Is(err, gown.ErrReplyTooLarge) || len(samples) != 0 || len(queries) != 2 {
			t.Errorf("%d records, %d queries, error %v", len(samples), len(queries), err)
		}
	})

	t.Run("no open login", func(t *testing.T) {
		samples, _, err := probe.SampleStore(t.Context(), New(), gown.Target{Host: "127.0.0.1", Port: 1}, d,
			&gown.Result{Status: gown.StatusOpen}, lim)
		if err != nil || len(samples) != 0 {
			t.Errorf("%d records, error %v", len(samples), err)
		}
	})
}
