//go:build !linux

package probe

import "time"

// kernelRTT has no kernel figure to read outside Linux: the connect's own
// duration stands in (connectAhead).
func kernelRTT(*Conn) (time.Duration, bool) { return 0, false }
