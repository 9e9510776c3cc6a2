package mysql

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gownscan/gown"
)

// inventoryQuery is the one statement gown runs after a login: sizes and row
// estimates per user schema, from the server's own statistics (no table is
// read), and the server's own schemas by name alone. Their sizes are not
// asked for: on MariaDB, information_schema.tables opens the statistics of
// every table it reports, and the mysql and performance_schema tables make
// that 11-13 ms of the server's time per login against 0.5 ms without them
// (SHOW PROFILES on MariaDB 10.11), which a scan of many servers pays in its
// slowest ones. The limit is one past maxSchemas so that a cut listing can
// be told apart.
const inventoryQuery = "SELECT table_schema, SUM(data_length+index_length), SUM(table_rows) " +
	"FROM information_schema.tables WHERE table_schema NOT IN " + systemSchemaList + " GROUP BY table_schema " +
	"UNION ALL SELECT schema_name, NULL, NULL FROM information_schema.schemata WHERE schema_name IN " + systemSchemaList +
	" ORDER BY 1 LIMIT 1001"

// systemSchemaList is systemSchemas as an SQL list.
const systemSchemaList = "('information_schema','mysql','performance_schema','sys')"

// maxSchemas caps the schemas listed; more sets Inventory.Truncated.
const maxSchemas = 1000

// maxColumns caps the column count a resultset may announce; gown's query has
// three, and the column definitions are read one packet each.
const maxColumns = 64

// systemSchemas are the server's own schemas, counted apart from user data.
var systemSchemas = map[string]bool{
	"mysql": true, "information_schema": true, "performance_schema": true, "sys": true,
}

// packetReader is where a resultset comes from: a session in the probe, a
// byte slice in tests and fuzzing.
type packetReader interface {
	read(limit int) ([]byte, error)
}

// value is one field of a text row; null marks SQL NULL (0xFB).
type value struct {
	s    string
	null bool
}

// readResultSet reads a text resultset (Protocol::Text::Resultset) of at most
// maxRows rows. With CLIENT_DEPRECATE_EOF the column definitions are not
// followed by EOF and the rows end in an OK packet with a 0xFE header. An ERR
// packet instead of the resultset is returned as *serverError.
func readResultSet(r packetReader, deprecateEOF bool, maxRows int) (rows [][]value, truncated bool, err error) {
	p, err := r.read(maxPacket)
	if err != nil {
		return nil, false, err
	}
	if len(p) > 0 && p[0] == hdrERR {
		se, err := parseErr(p)
		if err != nil {
			return nil, false, err
		}
		return nil, false, se
	}
	cols, n, null, err := readLenEncInt(p)
	switch {
	case err != nil:
		return nil, false, err
	case null || n != len(p) || cols == 0 || cols > maxColumns:
		return nil, false, fmt.Errorf("resultset header announces no usable column count: %w", gown.ErrProtocol)
	}
	for range cols {
		// Column definitions: gown knows its own query's columns, so they are
		// read to keep the stream in step, not parsed.
		if _, err := r.read(maxPacket); err != nil {
			return nil, false, err
		}
	}
	if !deprecateEOF {
		if p, err := r.read(maxPacket); err != nil {
			return nil, false, err
		} else if !isEOF(p) {
			return nil, false, fmt.Errorf("no EOF after column definitions: %w", gown.ErrProtocol)
		}
	}
	return readRows(r, int(cols), maxRows)
}

// readRows reads text rows until the terminating EOF/OK packet.
func readRows(r packetReader, cols, maxRows int) (rows [][]value, truncated bool, err error) {
	for {
		p, err := r.read(maxPacket)
		if err != nil {
			return nil, false, err
		}
		switch {
		case len(p) == 0:
			return nil, false, fmt.Errorf("empty row packet: %w", gown.ErrProtocol)
		case p[0] == hdrEOF:
			// A row cannot start with 0xFE below 16 MiB (that is an 8-byte
			// length), so within maxPacket this is the EOF or OK terminator.
			return rows, truncated, nil
		case p[0] == hdrERR:
			se, err := parseErr(p)
			if err != nil {
				return nil, false, err
			}
			return nil, false, se
		}
		row, err := parseRow(p, cols)
		if err != nil {
			return nil, false, err
		}
		if len(rows) < maxRows {
			rows = append(rows, row)
		} else {
			truncated = true
		}
	}
}

// parseRow decodes one text row: cols length-encoded strings or NULLs.
func parseRow(p []byte, cols int) ([]value, error) {
	row := make([]value, cols)
	for i := range row {
		s, n, null, err := readLenEncString(p)
		if err != nil {
			return nil, err
		}
		row[i] = value{s: string(s), null: null}
		p = p[n:]
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("row has %d bytes past its %d columns: %w", len(p), cols, gown.ErrProtocol)
	}
	return row, nil
}

// isEOF reports whether p is an EOF packet (0xFE, at most 5 bytes payload).
func isEOF(p []byte) bool { return len(p) > 0 && len(p) < 9 && p[0] == hdrEOF }

// inventory turns the rows of inventoryQuery into gown's inventory.
func inventory(rows [][]value, truncated bool) (*gown.Inventory, error) {
	inv := &gown.Inventory{Truncated: truncated}
	for _, row := range rows {
		if len(row) != 3 || row[0].null {
			return nil, fmt.Errorf("inventory row has %d columns or no schema name: %w", len(row), gown.ErrProtocol)
		}
		bytes, err := decimal(row[1])
		if err != nil {
			return nil, err
		}
		items, err := decimal(row[2])
		if err != nil {
			return nil, err
		}
		inv.Add(gown.Database{
			Name:   cleanText([]byte(row[0].s), 64),
			Items:  items,
			Bytes:  bytes,
			System: systemSchemas[strings.ToLower(row[0].s)],
		})
	}
	return inv, nil
}

// decimal reads a SUM() result: a DECIMAL in text form, NULL when every
// table's figure was NULL (views, some engines). The fraction is dropped and
// values past uint64 are clamped rather than wrapped.
func decimal(v value) (uint64, error) {
	if v.null {
		return 0, nil
	}
	s, _, _ := strings.Cut(v.s, ".")
	if strings.Trim(s, "-0") == "" {
		return 0, nil // "", "0", "-0": a fraction of a byte or row
	}
	n, err := strconv.ParseUint(s, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return math.MaxUint64, nil
	case err != nil:
		return 0, fmt.Errorf("size %q is not a count: %w", v.s, gown.ErrProtocol)
	}
	return n, nil
}
