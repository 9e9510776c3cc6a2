package gown

// Sample is one record read from an open store, flattened to field paths and
// text values. It lives only in memory between a prober's sampler and the
// classifier (assess): it is never stored, printed or logged. What survives
// is the Exposure and the Signs drawn from it, masked.
type Sample struct {
	// Database is the keyspace, schema, database or index the record came
	// from; Collection the table, collection, document type or key prefix
	// ("" for stores without one).
	Database   string
	Collection string
	// Key is the record's own name: a document id, a Redis key, a primary
	// key value. Ransom notes and planted cron jobs often hide in it.
	Key    string
	Fields []Field
}

// Field is one leaf of a sampled record: "user.address.city" → "Lyon".
// Arrays get the index in the path ("tags.0").
type Field struct {
	Path  string
	Value string
}

// Size is the record's text size, for byte caps.
func (s *Sample) Size() int {
	n := len(s.Database) + len(s.Collection) + len(s.Key)
	for _, f := range s.Fields {
		n += len(f.Path) + len(f.Value)
	}
	return n
}

// Exposure is what sampling an open store showed: the sensitive-data classes
// found, per database, with counts and masked examples only.
type Exposure struct {
	Sampled int   `json:"sampled"` // records read
	Bytes   int64 `json:"bytes"`   // text read
	// Truncated is set when a cap (records, collections, bytes, time) ended
	// sampling before every collection was read.
	Truncated bool         `json:"truncated,omitempty"`
	Classes   []ClassCount `json:"classes,omitempty"`
}

// ClassCount says how many sampled records of one database hold one class of
// sensitive data: "email", "payment-card", "geo", "password-hash"...
type ClassCount struct {
	Class    string `json:"class"`
	Database string `json:"database"`
	Records  int    `json:"records"`
	// Fields names the field paths where the class was seen (names are not
	// secret; values are).
	Fields []string `json:"fields,omitempty"`
	// Examples are masked values ("j***@e***.com", "**** **** **** 4242").
	Examples []string `json:"examples,omitempty"`
}

// Sign is evidence that a store was already compromised or is not what it
// seems: a ransom note, a wiped store, a planted cron job, a foreign
// replication master, a staged honeypot.
type Sign struct {
	Kind   string `json:"kind"`   // "ransom-note", "wiped", "redis-cron", "redis-ssh-key", "foreign-master", "honeypot"
	Where  string `json:"where"`  // database/collection/key where it was seen
	Detail string `json:"detail"` // what was seen, masked
}
