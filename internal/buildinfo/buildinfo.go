// Package buildinfo says which gown this is, from what the Go toolchain
// stamped into the binary: the module version, the VCS commit and its date.
// Reports, stored scans and gown version all read it, so they agree.
package buildinfo

import (
	"runtime/debug"
	"sync"
)

// Info is what a binary knows about its own build.
type Info struct {
	// Version is the module version ("v1.2.3", a pseudo-version, or
	// "(devel)" when the toolchain could not tell), or the one set with
	// -ldflags "-X ...buildinfo.Override=v1.2.3".
	Version string `json:"version"`
	// Commit and Date are the VCS revision and commit time, empty when the
	// binary was built outside a checkout (go install module@version).
	Commit string `json:"commit,omitempty"`
	Date   string `json:"date,omitempty"`
	// Modified is true when the checkout had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// Go is the toolchain version that built the binary.
	Go string `json:"go"`
	// Module is the main module path.
	Module string `json:"module,omitempty"`
}

// Override, when set at link time, replaces the module version (release
// builds that know their tag better than the toolchain does).
var Override string

var read = sync.OnceValue(func() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(unknown)"}
	}
	return fromBuildInfo(bi)
})

func fromBuildInfo(bi *debug.BuildInfo) Info {
	in := Info{Version: bi.Main.Version, Go: bi.GoVersion, Module: bi.Main.Path}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			in.Commit = s.Value
		case "vcs.time":
			in.Date = s.Value
		case "vcs.modified":
			in.Modified = s.Value == "true"
		}
	}
	if in.Version == "" {
		in.Version = "(devel)"
	}
	if Override != "" {
		in.Version = Override
	}
	return in
}

// Read returns this binary's build information.
func Read() Info { return read() }

// Short is the version as one word for reports and stored scans: the
// module version, or the commit's first 12 characters when the module
// version says nothing ("(devel)"), "+dirty" when the checkout had changes.
func (in Info) Short() string {
	v := in.Version
	if (v == "(devel)" || v == "(unknown)") && in.Commit != "" {
		v = in.Commit[:min(12, len(in.Commit))]
	}
	if in.Modified && in.Commit != "" && v != in.Version {
		v += "+dirty"
	}
	return v
}
