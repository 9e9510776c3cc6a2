package gown

import "context"

// Browser is the optional ability of a Store to answer the read-only
// questions a dashboard asks without walking a whole scan: one page of a
// scan's findings, filtered and sorted by the database; the counts a scan's
// overview charts draw; the trend over the newest scans; the apps whose own
// code holds findings; and one finding with the result it was drawn from.
// Every method reads; none changes the store.
type Browser interface {
	// FindingPage returns the page of scan's findings that q selects, with
	// how many findings match q in all.
	FindingPage(ctx context.Context, scan ScanID, q FindingQuery) (FindingPage, error)
	// ScanSummary counts what one scan holds, for its overview.
	ScanSummary(ctx context.Context, scan ScanID) (ScanSummary, error)
	// Facets counts a scan's findings by severity and lists the store
	// kinds it holds, cheaply: what a findings page's filters offer.
	Facets(ctx context.Context, scan ScanID) (Facets, error)
	// Trend summarises the newest n scans, oldest first.
	Trend(ctx context.Context, n int) ([]TrendPoint, error)
	// Apps lists the apps with findings about their own code, by app id,
	// each as the newest scan that saw it found it.
	Apps(ctx context.Context) ([]AppSummary, error)
	// FindingDetail returns one finding of a scan, the result it was drawn
	// from (nil for a standalone finding) and the scans that first and last
	// saw it. A finding the scan does not hold is ErrNoFinding.
	FindingDetail(ctx context.Context, scan ScanID, id string) (FindingDetail, error)
}

// FindingSort names the column a FindingPage is ordered by.
type FindingSort string

// Sort columns. Ties are broken by finding id in the same direction, so a
// page boundary never splits or repeats a finding.
const (
	SortSeverity FindingSort = "severity"
	SortTarget   FindingSort = "target"
	SortStore    FindingSort = "store"
	SortRule     FindingSort = "rule"
	SortItems    FindingSort = "items"
	SortBytes    FindingSort = "bytes"
)

// FindingSorts lists the sort columns a FindingQuery accepts.
var FindingSorts = []FindingSort{SortSeverity, SortTarget, SortStore, SortRule, SortItems, SortBytes}

// MaxFindingPage caps FindingQuery.Limit: a page is meant for a screen.
const MaxFindingPage = 500

// FindingQuery selects and orders a scan's findings. Zero values select
// everything, most severe first, 100 at a time.
type FindingQuery struct {
	// Severities keeps the findings of these severities; empty keeps all.
	Severities []Severity
	// Store keeps the findings of one store kind ("redis"); "" keeps all.
	Store string
	// Class keeps the findings naming this sensitive-data class.
	Class string
	// Rule keeps the findings of one rule.
	Rule string
	// Host keeps the findings about one host or subject (an app's id).
	Host string
	// Origin keeps the findings whose subject came from there ("app").
	Origin string
	Sort   FindingSort
	// Asc sorts ascending; the default is descending (worst, biggest
	// first).
	Asc bool
	// Offset skips that many findings; Limit caps the page (0: 100).
	Offset, Limit int
}

// FindingPage is one page of a scan's findings.
type FindingPage struct {
	// Total counts the findings that match the query, over all pages.
	Total int64        `json:"total"`
	Rows  []FindingRow `json:"findings"`
}

// FindingRow is one finding as a findings list shows it: the finding and
// what its result says in a few words.
type FindingRow struct {
	Finding
	// Product, Version, Status and TLS are the result's, empty for a
	// standalone finding.
	Product string  `json:"product,omitempty"`
	Version string  `json:"version,omitempty"`
	Status  Status  `json:"status,omitempty"`
	TLS     TLSMode `json:"tls,omitempty"`
}

// ScanSummary counts what one scan holds: services and exposure by store,
// findings by severity and data class, and the apps whose own code
// holds findings.
type ScanSummary struct {
	Scan ScanMeta `json:"scan"`
	// Services counts the results whose service answered, Open the open
	// stores among them, Items and Bytes what the open stores hold.
	Services int64  `json:"services"`
	Open     int64  `json:"open"`
	Items    uint64 `json:"items"`
	Bytes    uint64 `json:"bytes"`
	// Hosts counts the distinct hosts that answered.
	Hosts   int64        `json:"hosts"`
	ByStore []StoreCount `json:"by_store"`
	// BySeverity counts findings, indexed by Severity (info first).
	BySeverity [SeverityCritical + 1]int64 `json:"by_severity"`
	// ByClass counts the findings naming each sensitive-data class.
	ByClass []NameCount `json:"by_class"`
	// Apps counts the apps with findings in their own code.
	Apps int64 `json:"apps"`
}

// Facets are what a findings page's filters offer for one scan.
type Facets struct {
	// BySeverity counts findings, indexed by Severity (info first).
	BySeverity [SeverityCritical + 1]int64 `json:"by_severity"`
	// Stores lists the store kinds of the scan's services, sorted.
	Stores []string `json:"stores"`
}

// StoreCount is one store kind's services in a scan.
type StoreCount struct {
	Store    string `json:"store"`
	Services int64  `json:"services"`
	Open     int64  `json:"open"`
	Items    uint64 `json:"items"`
	Bytes    uint64 `json:"bytes"`
}

// NameCount is a count under a name: the findings naming a class.
type NameCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// TrendPoint is one scan in a trend: its findings by severity and the data
// its open stores exposed.
type TrendPoint struct {
	Meta       ScanMeta                    `json:"scan"`
	BySeverity [SeverityCritical + 1]int64 `json:"by_severity"`
	Open       int64                       `json:"open"`
	Items      uint64                      `json:"items"`
	Bytes      uint64                      `json:"bytes"`
}

// AppSummary is one app with findings about its own code, as the newest
// scan that saw it found it.
type AppSummary struct {
	// ID is the app's package name or bundle id, the findings' subject.
	ID string `json:"id"`
	// Scan is the newest scan with findings about the app.
	Scan     ScanID   `json:"scan"`
	Findings int64    `json:"findings"`
	Worst    Severity `json:"worst"`
	// FirstSeen is the oldest scan that holds any of its findings.
	FirstSeen ScanID `json:"first_seen"`
}

// FindingDetail is one finding of a scan with the result it was drawn
// from, nil for a standalone finding.
type FindingDetail struct {
	Finding   Finding `json:"finding"`
	Result    *Result `json:"result,omitempty"`
	FirstSeen ScanID  `json:"first_seen"`
	LastSeen  ScanID  `json:"last_seen"`
}
