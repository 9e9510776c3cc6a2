package mongodb

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/flatten"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// Sampling reads, over one connection per application database the
// inventory lists (admin, local and config are skipped), with read-only
// commands only:
//
//	{listCollections: 1, nameOnly: true, authorizedCollections: true}
//	{find: C, limit: K, batchSize: K, singleBatch: true, maxTimeMS: 2000}  per collection
//
// Views and system.* collections are skipped. singleBatch closes the
// cursor with the first reply, so nothing is left open on the server, and
// maxTimeMS bounds the server's work as the connection's deadline bounds
// gown's wait.
const (
	sampleMaxTimeMS = 2000
	maxCollections  = 200 // names kept from one listCollections reply
	maxDBName       = 64  // longer names are not MongoDB's, and are skipped
)

var _ probe.Sampler = (*Prober)(nil)

// sampleReads are the commands a sampling session may send besides
// allowed; a probe's session refuses them.
var sampleReads = map[string]bool{"listCollections": true, "find": true}

// Sample reads a few documents of each collection of each database the
// probe listed.
func (p *Prober) Sample(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	if r.Inventory == nil {
		return nil
	}
	for _, db := range r.Inventory.Databases {
		if db.System || systemDBs[db.Name] || db.Name == "" || len(db.Name) > maxDBName {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := sampleDB(ctx, t, d, r, db.Name, lim, emit); err != nil {
			if errors.Is(err, probe.ErrSampleFull) {
				return nil
			}
			return err
		}
	}
	return nil
}

// sampleDB reads one database over its own connection, so that each
// database has the dialer's whole read cap.
func sampleDB(ctx context.Context, t gown.Target, d probe.Dialer, r *gown.Result, db string, lim probe.SampleLimits, emit func(gown.Sample) error) error {
	conn, err := d.Dial(ctx, t)
	if err != nil {
		return fmt.Errorf("mongodb sample dial %s: %w", t, err)
	}
	defer conn.Close()
	if r.TLS.Mode == gown.TLSRequired {
		if err := conn.UpgradeTLS(probe.ServerName(t)); err != nil {
			return fmt.Errorf("mongodb sample TLS on %s: %w", t, err)
		}
	}
	s := newSession(conn, t, r.Details["framing"] == "op_query")
	s.secondaryOK = r.Details["role"] == "secondary"
	s.sampling = true
	// One past the cap, so that a store with more collections shows as
	// truncated (SampleStore refuses the first record past it).
	colls, err := s.collections(db, lim.Collections+1)
	if err != nil {
		return err
	}
	for _, c := range colls {
		if err := ctx.Err(); err != nil {
			return err
		}
		docs, err := s.find(db, c, lim.PerCollection)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			if err := emit(gown.Sample{Database: db, Collection: c, Key: idOf(doc), Fields: docFields(doc)}); err != nil {
				return err
			}
		}
	}
	return nil
}

// collections lists the collection names of db, at most max, views and
// system collections left out. A refused listing (an ACL) is no error:
// there is nothing to read.
func (s *session) collections(db string, max int) ([]string, error) {
	doc, err := s.command("listCollections "+db, db, bson.D{
		{Key: "listCollections", Value: 1}, {Key: "nameOnly", Value: true}, {Key: "authorizedCollections", Value: true},
	})
	if err != nil || refusal(doc) != nil {
		return nil, err
	}
	batch, err := firstBatch(doc)
	if err != nil {
		return nil, fmt.Errorf("mongodb listCollections on %s: %w", s.t, err)
	}
	var out []string
	for _, c := range batch {
		name := str(c, "name")
		typ := str(c, "type")
		if name == "" || strings.HasPrefix(name, "system.") || (typ != "" && typ != "collection") {
			continue
		}
		if len(out) == min(max, maxCollections) {
			break
		}
		out = append(out, name)
	}
	return out, nil
}

// find reads at most k documents of one collection in a single batch. A
// refused find (an ACL on this collection, a timeout) reads nothing.
func (s *session) find(db, coll string, k int) ([]bson.Raw, error) {
	doc, err := s.command("find "+db+"."+coll, db, bson.D{
		{Key: "find", Value: coll}, {Key: "limit", Value: int32(k)}, {Key: "batchSize", Value: int32(k)},
		{Key: "singleBatch", Value: true}, {Key: "maxTimeMS", Value: int32(sampleMaxTimeMS)},
	})
	if err != nil || refusal(doc) != nil {
		return nil, err
	}
	batch, err := firstBatch(doc)
	if err != nil {
		return nil, fmt.Errorf("mongodb find on %s: %w", s.t, err)
	}
	return batch[:min(len(batch), k)], nil
}

// firstBatch returns the documents of a cursor reply's first batch.
func firstBatch(doc bson.Raw) ([]bson.Raw, error) {
	arr, ok := doc.Lookup("cursor", "firstBatch").ArrayOK()
	if !ok {
		return nil, fmt.Errorf("%w: reply has no cursor.firstBatch", gown.ErrProtocol)
	}
	vals, err := arr.Values()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", gown.ErrProtocol, err)
	}
	out := make([]bson.Raw, 0, len(vals))
	for _, v := range vals {
		if d, ok := v.DocumentOK(); ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// idOf renders a document's _id as its key.
func idOf(doc bson.Raw) string {
	v, err := doc.LookupErr("_id")
	if err != nil {
		return ""
	}
	s, _ := leafText(v)
	return s
}

// docFields flattens a document into field paths. The BSON tree is turned
// into plain values first, within flatten's depth and field caps, so that a
// hostile document cannot make the conversion itself large.
func docFields(doc bson.Raw) []gown.Field {
	return flatten.Value("", toValue(bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: doc}, 0))
}

// toValue converts one BSON value: documents to maps, arrays to slices,
// everything else to text (see leafText). Past flatten.MaxDepth, and past
// flatten.MaxFields members of one document or array, nothing is converted.
func toValue(v bson.RawValue, depth int) any {
	if depth > flatten.MaxDepth {
		return nil
	}
	switch v.Type {
	case bson.TypeEmbeddedDocument:
		elems, err := v.Document().Elements()
		if err != nil {
			return nil
		}
		m := make(map[string]any, min(len(elems), flatten.MaxFields))
		for i, e := range elems {
			if i == flatten.MaxFields {
				break
			}
			m[e.Key()] = toValue(e.Value(), depth+1)
		}
		return m
	case bson.TypeArray:
		vals, err := v.Array().Values()
		if err != nil {
			return nil
		}
		out := make([]any, 0, min(len(vals), flatten.MaxFields))
		for _, e := range vals[:min(len(vals), flatten.MaxFields)] {
			out = append(out, toValue(e, depth+1))
		}
		return out
	}
	s, ok := leafText(v)
	if !ok {
		return nil
	}
	return s
}

// leafText renders a scalar BSON value as the text a classifier reads: an
// ObjectId in hex, a date in RFC 3339, a UUID in its usual form, other
// binary in base64, numbers and booleans as written; ok is false for
// documents and arrays.
func leafText(v bson.RawValue) (string, bool) {
	switch v.Type {
	case bson.TypeString:
		return v.StringValue(), true
	case bson.TypeObjectID:
		return v.ObjectID().Hex(), true
	case bson.TypeDateTime:
		return time.UnixMilli(v.DateTime()).UTC().Format(time.RFC3339Nano), true
	case bson.TypeBinary:
		sub, data := v.Binary()
		if (sub == 3 || sub == 4) && len(data) == 16 {
			return fmt.Sprintf("%x-%x-%x-%x-%x", data[0:4], data[4:6], data[6:8], data[8:10], data[10:16]), true
		}
		if len(data) > flatten.MaxValue {
			data = data[:flatten.MaxValue]
		}
		return base64.StdEncoding.EncodeToString(data), true
	case bson.TypeInt32:
		return strconv.FormatInt(int64(v.Int32()), 10), true
	case bson.TypeInt64:
		return strconv.FormatInt(v.Int64(), 10), true
	case bson.TypeDouble:
		return strconv.FormatFloat(v.Double(), 'f', -1, 64), true
	case bson.TypeDecimal128:
		return v.Decimal128().String(), true
	case bson.TypeBoolean:
		return strconv.FormatBool(v.Boolean()), true
	case bson.TypeNull, bson.TypeUndefined:
		return "", true
	case bson.TypeEmbeddedDocument, bson.TypeArray:
		return "", false
	}
	// Timestamps, regular expressions, code: their extended JSON form.
	return v.String(), true
}
