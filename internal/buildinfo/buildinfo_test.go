package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/gownscan/gown", Version: "(devel)"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-12-05T07:00:00Z"},
			{Key: "vcs.modified", Value: "true"}}}
	in := fromBuildInfo(bi)
	if in.Commit != "0123456789abcdef0123" || in.Date != "2026-12-05T07:00:00Z" || !in.Modified || in.Go != "go1.26.8" {
		t.Errorf("info %+v", in)
	}
	if got := in.Short(); got != "0123456789ab+dirty" {
		t.Errorf("Short() = %q, want the commit with +dirty", got)
	}
	bi.Main.Version = "v1.4.0"
	if got := fromBuildInfo(bi).Short(); got != "v1.4.0" {
		t.Errorf("Short() = %q, want the module version", got)
	}
	Override = "v9.9.9"
	defer func() { Override = "" }()
	if got := fromBuildInfo(bi).Version; got != "v9.9.9" {
		t.Errorf("Version with Override = %q", got)
	}
}

// TestRead checks that the test binary itself carries build information.
func TestRead(t *testing.T) {
	in := Read()
	if in.Go == "" || in.Version == "" {
		t.Errorf("Read() = %+v: want a Go and a module version", in)
	}
}
