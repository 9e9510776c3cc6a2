package gown

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Severity grades a finding. The zero value is Info.
type Severity int

// Severities, lowest first.
const (
	SeverityInfo Severity = iota
	SeverityLow
	SeverityMedium
	SeverityHigh
	SeverityCritical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

// String gives the lowercase name used in flags and output.
func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText writes the name, so JSON carries "high", not 3.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(n, name) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("%w: %q (want one of %s)", ErrBadSeverity, name, strings.Join(severityNames[:], ", "))
}

// Finding is one thing a user should act on, drawn from a result.
type Finding struct {
	// ID is stable across scans for the same issue at the same place, so a
	// re-scan updates rather than duplicates.
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"` // e.g. "open-store"
	Title    string   `json:"title"`
	Target   Target   `json:"target"`
	Store    string   `json:"store,omitempty"`
	// Items and Bytes are the data at risk.
	Items uint64 `json:"items,omitempty"`
	Bytes uint64 `json:"bytes,omitempty"`
	// Classes names the sensitive-data classes sampling found in the store
	// ("email", "payment-card"), most harmful first.
	Classes []string `json:"classes,omitempty"`
	// Locations are the places in an app a finding about the app's own code
	// points at (the file, the entry, the offset); empty for a service.
	Locations []Source `json:"locations,omitempty"`
}

// FindingID derives a stable id from the rule and where it applies: the
// target's host, port and, when set, Path (an empty Path gives the ids gown
// gave before targets had paths, so stored findings keep theirs).
func FindingID(rule, store string, t Target) string {
	key := rule + "\x00" + store + "\x00" + t.Host + "\x00" + fmt.Sprint(t.Port)
	if t.Path != "" {
		key += "\x00" + t.Path
	}
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:8])
}
