package gown

import "errors"

// Sentinel errors shared across packages. Callers test with errors.Is; only
// cmd/gown turns them into exit codes.
var (
	// ErrNotService means the peer answered but is not the store a prober checks.
	ErrNotService = errors.New("not this service")
	// ErrReplyTooLarge means a reply exceeded the read cap.
	ErrReplyTooLarge = errors.New("reply exceeds the read cap")
	// ErrProtocol means a reply broke the protocol's framing.
	ErrProtocol = errors.New("protocol violation")
	// ErrBadTarget means a target spec could not be parsed or is out of scope.
	ErrBadTarget = errors.New("bad target")
	// ErrNoTargets means an input gave nothing to scan: every spec was
	// refused (ErrBadTarget), or there was none.
	ErrNoTargets = errors.New("no target to scan")
	// ErrBadSeverity means a severity name is not one gown knows.
	ErrBadSeverity = errors.New("unknown severity")
	// ErrNoFinding means a finding id names no finding of the scan asked about.
	ErrNoFinding = errors.New("no such finding")
)
