package rules

import (
	"testing"

	"github.com/gownscan/gown/internal/lazyre"
)

// TestPatternsCompile compiles every regex of the embedded rules, whose
// syntax All does not check when gown starts: a bad one fails here.
func TestPatternsCompile(t *testing.T) {
	if len(All()) == 0 {
		t.Fatal("no embedded rules")
	}
	lazyre.CompileAll()
}
