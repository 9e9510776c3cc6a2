package report

import (
	"testing"

	"github.com/gownscan/gown/internal/lazyre/lazyretest"
)

// TestPatterns checks the package's patterns, made on first use, against
// what each must and must not match.
func TestPatterns(t *testing.T) {
	lazyretest.Check(t, "github.com/gownscan/gown/report", []lazyretest.Case{
		{Name: "semver", Re: semver,
			TP: []string{"2.0.0", "1.10.3-rc.1", "0.4.0+build.7", "1.0.0-alpha.1+exp.sha.5114f85"},
			FP: []string{"v1.2.3", "1.2", "01.2.3", "1.2.3.4", "devel", "1.2.3 "}},
	})
}
