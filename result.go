package gown

import (
	"time"
)

// Status is a prober's verdict on one service.
type Status string

// Verdicts. The first six are the store verdicts of DESIGN.md; the last three
// say why no verdict could be reached at the transport level.
const (
	StatusOpen         Status = "open"          // data readable without credentials
	StatusAuthRequired Status = "auth-required" // the service asks for credentials
	StatusRestricted   Status = "restricted"    // reachable, but this client is refused the data
	StatusProtected    Status = "protected"     // the server refuses remote clients by design
	StatusNotService   Status = "not-service"   // something answered that is not this store
	StatusUnknown      Status = "unknown"       // something answered that gown could not place
	StatusClosed       Status = "closed"        // connection refused
	StatusFiltered     Status = "filtered"      // no answer to the connect before the deadline
	StatusError        Status = "error"         // the probe failed before anything answered
)

// Answered reports whether something listened on the port.
func (s Status) Answered() bool {
	return s != StatusClosed && s != StatusFiltered && s != StatusError && s != ""
}

// TLSMode says whether a service speaks TLS.
type TLSMode string

// TLS modes.
const (
	TLSUnknown  TLSMode = ""         // not tried
	TLSNone     TLSMode = "none"     // plaintext only
	TLSOffered  TLSMode = "offered"  // both plaintext and TLS work
	TLSRequired TLSMode = "required" // only TLS works
)

// TLS describes what a TLS handshake showed.
type TLS struct {
	Mode       TLSMode   `json:"mode"`
	Version    string    `json:"version,omitempty"`
	Subject    string    `json:"subject,omitempty"`
	Issuer     string    `json:"issuer,omitempty"`
	NotAfter   time.Time `json:"not_after,omitzero"`
	SelfSigned bool      `json:"self_signed,omitempty"`
}

// Database is one unit of a store's inventory: a Redis keyspace, a SQL schema,
// an index, a collection or a bucket.
type Database struct {
	Name string `json:"name"`
	// Items counts keys, rows, documents or objects; Bytes is the size the
	// server reports. Either may be an estimate (table_rows in InnoDB is).
	Items uint64 `json:"items"`
	Bytes uint64 `json:"bytes"`
	// System marks the store's own data (mysql, .kibana, admin), counted apart.
	System bool `json:"system,omitempty"`
}

// Inventory is what an open store holds, as the server itself reports it.
type Inventory struct {
	Databases []Database `json:"databases,omitempty"`
	// Items and Bytes sum the non-system databases, unless the server reports a
	// whole-store figure (Redis used_memory), which then wins for Bytes.
	Items uint64 `json:"items"`
	Bytes uint64 `json:"bytes"`
	// Truncated is set when the listing was capped.
	Truncated bool `json:"truncated,omitempty"`
}

// Add appends a database and keeps the totals; system data is not summed.
func (inv *Inventory) Add(d Database) {
	inv.Databases = append(inv.Databases, d)
	if !d.System {
		inv.Items = addSat(inv.Items, d.Items)
		inv.Bytes = addSat(inv.Bytes, d.Bytes)
	}
}

// Evidence is one exchange with the service, trimmed and redacted: what was
// sent and the first bytes of the reply.
type Evidence struct {
	Step     string `json:"step"`
	Sent     string `json:"sent,omitempty"`
	Received string `json:"received,omitempty"`
}

// Result is what one prober found at one target.
type Result struct {
	Target  Target `json:"target"`
	Store   string `json:"store,omitempty"`   // prober name: "redis", "mysql"
	Product string `json:"product,omitempty"` // what answered: "Redis", "MariaDB"
	Version string `json:"version,omitempty"`
	Status  Status `json:"status"`
	// Reason says in a few words why the verdict was reached.
	Reason    string     `json:"reason,omitempty"`
	TLS       TLS        `json:"tls"`
	Inventory *Inventory `json:"inventory,omitempty"`
	// Details carries store-specific facts as short strings (auth plugin,
	// redis_mode, protocol version), for display; keys are stable per
	// store. No other package interprets them: what assess grades on is in
	// Facts.
	Details map[string]string `json:"details,omitempty"`
	// Facts are what the prober determined that other packages act on.
	Facts    Facts      `json:"facts,omitzero"`
	Evidence []Evidence `json:"evidence,omitempty"`
	// Exposure is what sampling read (set only when the store was open and
	// sampling was on); Signs are compromise or honeypot signs drawn from
	// the inventory, the details and the samples.
	Exposure *Exposure `json:"exposure,omitempty"`
	Signs    []Sign    `json:"signs,omitempty"`
	// Error is set when a step failed; with a Status other than error it means
	// the verdict stands but a later step (inventory, TLS) could not finish.
	Error    string        `json:"error,omitempty"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	// Heard is what a prober read while probing that its own sampler hands
	// on instead of asking the server again (an MQTT broker's messages,
	// heard in a listening window that cannot be had twice for free). It
	// is the prober's own type, never leaves the process, is neither
	// stored nor printed, and the engine drops it once sampling is done.
	Heard any `json:"-"`
}

// Facts are what a prober determined about a store that assess grades on,
// typed so that no package reads meaning into another's Details strings.
// Each prober sets the facts it can tell; the zero value says nothing was
// determined.
type Facts struct {
	// Admin says in a few words what admin-level access an anonymous client
	// has ("anyone is server admin (admin party)"); "" when none was seen.
	// It completes the sentence "gives admin access without authentication:".
	Admin string `json:"admin,omitempty"`
	// Replica is set when the server copies its data from a master.
	Replica *Replica `json:"replica,omitempty"`
	// Persistence is where the store writes its data to disk, when the
	// server said.
	Persistence *Persistence `json:"persistence,omitempty"`
}

// Replica is the master a replica copies its data from, as the replica
// reports it.
type Replica struct {
	// Host is the master's address or name as configured.
	Host string `json:"host"`
	// Port is the master's port; 0 when the server did not give a number.
	Port int `json:"port,omitempty"`
	// Link is the state of the replication link ("up", "down"), "" when
	// not reported.
	Link string `json:"link,omitempty"`
}

// Persistence is the directory and file a store writes its data to (Redis's
// dir and dbfilename): a takeover points them at cron or SSH files.
type Persistence struct {
	Dir  string `json:"dir"`
	File string `json:"file"`
}

// Detail sets a store-specific detail, creating the map on first use.
func (r *Result) Detail(key, value string) {
	if r.Details == nil {
		r.Details = map[string]string{}
	}
	r.Details[key] = value
}

// addSat adds without wrapping: a hostile server announcing huge counts must
// not turn into a small total.
func addSat(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}
