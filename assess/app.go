package assess

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gownscan/gown"
)

// maxLocations bounds the places kept per app finding: enough to find every
// copy of a key in a small app, not every locale's copy of a string.
const maxLocations = 16

// AppFindings grades what extraction found in an app's own code: hard-coded
// credentials (one finding per credential kind, a password inside a
// connection string among them) and clear-text transport (one finding that
// names the policy and the endpoints it lets through). Values are already
// redacted by extraction. Each finding's target names the app (its id, else
// its file) and its Locations say where in the app to look: the container,
// the entry and the offset in it.
func AppFindings(a *gown.App) []gown.Finding {
	if a == nil {
		return nil
	}
	t := AppTarget(a)
	var out []gown.Finding
	byRule := map[string][]gown.Credential{}
	var order []string
	for _, c := range a.Credentials {
		if len(byRule[c.Rule]) == 0 {
			order = append(order, c.Rule)
		}
		byRule[c.Rule] = append(byRule[c.Rule], c)
	}
	for _, rule := range order {
		creds := byRule[rule]
		f := newFinding(RuleHardcoded, "", t, credentialTitle(t.Host, rule, creds), nil)
		f.ID = gown.FindingID(RuleHardcoded+"/"+rule, "", t)
		for _, c := range creds {
			f.Locations = addLocations(f.Locations, c.Sources)
		}
		out = append(out, f)
	}
	if f, ok := cleartextFinding(a, t); ok {
		out = append(out, f)
	}
	for i := range out {
		for j := range out[i].Locations {
			out[i].Locations[j].Container = asGiven(a.File, out[i].Locations[j].Container)
		}
	}
	return out
}

// asGiven names a location's container by the app's path as it was given
// (build/outputs/app.apk), where extraction names it by its base name: a
// report, SARIF above all, must point at the file the user has.
func asGiven(file, container string) string {
	base := filepath.Base(file)
	if file == "" || base == file {
		return container
	}
	if container == base {
		return file
	}
	if rest, ok := strings.CutPrefix(container, base+"!"); ok {
		return file + "!" + rest
	}
	return container
}

// AppTarget is the subject of an app's own findings: the app by its package
// or bundle id (its file when the id could not be read), with no port.
func AppTarget(a *gown.App) gown.Target {
	host := a.ID
	if host == "" {
		host = a.File
	}
	return gown.Target{Host: host, Origin: "app"}
}

// credentialTitle names what an app holds: a store password inside a
// connection string is told apart from an API key.
func credentialTitle(app, rule string, creds []gown.Credential) string {
	n := len(creds)
	if rule == "conn-string-password" {
		var hosts []string
		for _, c := range creds {
			if c.Host != "" && !slices.Contains(hosts, c.Host) {
				hosts = append(hosts, c.Host)
			}
		}
		t := fmt.Sprintf("%s holds a store password in %d connection %s", app, n, plural(n, "string", "strings"))
		if len(hosts) > 0 {
			t += " (for " + strings.Join(ShortList(hosts, 3), ", ") + ")"
		}
		return t
	}
	return fmt.Sprintf("%s holds %d hard-coded %s %s", app, n, rule, plural(n, "credential", "credentials"))
}

// cleartextFinding joins an app's clear-text policy clauses with the
// endpoints each lets through: the title names both, the locations point at
// where the endpoints are written.
func cleartextFinding(a *gown.App, t gown.Target) (gown.Finding, bool) {
	var policies, endpoints []string
	for _, c := range a.Cleartext {
		if len(c.Endpoints) == 0 {
			continue
		}
		policies = append(policies, c.Policy)
		endpoints = append(endpoints, c.Endpoints...)
	}
	if len(endpoints) == 0 {
		return gown.Finding{}, false
	}
	n := len(endpoints)
	title := fmt.Sprintf("%s allows clear-text traffic (%s) to %d http:// or ws:// %s: %s", t.Host,
		strings.Join(policies, "; "), n, plural(n, "endpoint", "endpoints"), strings.Join(ShortList(endpoints, 3), ", "))
	f := newFinding(RuleCleartext, "", t, title, nil)
	for _, e := range a.Endpoints {
		if slices.Contains(endpoints, e.Value) && len(e.Sources) > 0 {
			f.Locations = addLocations(f.Locations, e.Sources[:1])
		}
	}
	return f, true
}

func addLocations(l []gown.Source, more []gown.Source) []gown.Source {
	for _, s := range more {
		if len(l) >= maxLocations {
			break
		}
		if !slices.Contains(l, s) {
			l = append(l, s)
		}
	}
	return l
}
