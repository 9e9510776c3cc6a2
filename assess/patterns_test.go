package assess

import (
	"testing"

	"github.com/gownscan/gown/internal/lazyre"
)

// TestPatternsCompile compiles every pattern of the package, which the
// package itself only does on first use: a bad one fails here.
func TestPatternsCompile(t *testing.T) {
	lazyre.CompileAll()
}
