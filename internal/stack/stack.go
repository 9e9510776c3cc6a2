// Package stack grows a goroutine's stack ahead of a deep call.
package stack

// Grow makes the calling goroutine's stack 128 KiB at once. A goroutine
// starts with a few KiB (until a garbage collection sizes new ones by what
// earlier ones used, which a short command never reaches) and doubles its
// stack each time a call runs out of room: every frame is copied and
// adjusted, which for the frames of modernc's translated SQLite (a few
// functions of tens of kilobytes of code, whose tables the runtime decodes
// for each frame) costs far more than the copy. Grown here, while the
// stack is one frame deep, it is one copy of almost nothing.
//
//go:noinline
func Grow() {
	var b [96 << 10]byte
	touch(b[:])
}

// touch reads b, so that the compiler keeps Grow's frame. It writes
// nothing shared: goroutines grow side by side.
//
//go:noinline
func touch(b []byte) byte { return b[len(b)-1] }
