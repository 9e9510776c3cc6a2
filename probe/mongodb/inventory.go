package mongodb

import (
	"fmt"
	"strconv"

	"github.com/gownscan/gown"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// maxCounted caps the dbStats round trips per target. Databases past it are
// listed with their size but no count, and the inventory says Truncated.
const maxCounted = 20

// systemDBs hold the server's own data (users and roles, the oplog, sharding
// metadata), counted apart from the application's.
var systemDBs = map[string]bool{"admin": true, "local": true, "config": true}

// inventory fills the result from the listing and from dbStats per
// database, application databases first. sizeOnDisk gives each database's
// bytes; totalSize, the whole server's figure, wins for the total.
func (s *session) inventory(r *gown.Result, dbs []dbEntry, total uint64, truncated bool) error {
	out := make([]gown.Database, len(dbs))
	for i, d := range dbs {
		out[i] = gown.Database{Name: d.name, Bytes: d.size, System: systemDBs[d.name]}
	}
	var (
		counted, collections uint64
		err                  error
	)
	for _, i := range countOrder(dbs) {
		if counted == maxCounted {
			break
		}
		var st dbStats
		if st, err = s.dbStats(dbs[i].name); err != nil {
			break // the connection is gone; keep what was counted
		}
		counted++
		if st.ok {
			out[i].Items = st.objects
			if !out[i].System {
				collections += st.collections
			}
		}
	}
	inv := &gown.Inventory{Truncated: truncated || counted < uint64(len(dbs))}
	for _, d := range out {
		inv.Add(d)
	}
	if total > 0 {
		inv.Bytes = total
	}
	r.Inventory = inv
	r.Detail("collections", strconv.FormatUint(collections, 10))
	if inv.Truncated {
		r.Detail("counted", fmt.Sprintf("%d of %d databases", counted, len(dbs)))
	}
	return err
}

// countOrder lists the databases to count, application ones before system
// ones, each in listing order.
func countOrder(dbs []dbEntry) []int {
	order := make([]int, 0, len(dbs))
	for pass := range 2 {
		for i, d := range dbs {
			if systemDBs[d.name] == (pass == 1) {
				order = append(order, i)
			}
		}
	}
	return order
}

// dbStats is what gown keeps of one dbStats reply.
type dbStats struct {
	ok          bool // the server answered with the figures
	objects     uint64
	collections uint64
}

// dbStats asks one database for its document and collection counts. A
// refusal (an ACL that hides one database) is not an error: that database
// goes uncounted.
func (s *session) dbStats(name string) (dbStats, error) {
	doc, err := s.command("dbStats "+name, name, bson.D{{Key: "dbStats", Value: 1}})
	if err != nil {
		return dbStats{}, err
	}
	if refusal(doc) != nil {
		return dbStats{}, nil
	}
	objects, ok := count(doc, "objects")
	collections, _ := count(doc, "collections")
	return dbStats{ok: ok, objects: objects, collections: collections}, nil
}
