package assess

import (
	"strings"

	"github.com/gownscan/gown"
)

// Rule ids. A finding's id is derived from its rule, store and target
// (gown.FindingID), so these names are part of gown's stable output.
const (
	RuleSensitive   = "sensitive-data"
	RuleAdmin       = "admin-access"
	RuleCompromised = "compromised"
	RuleOpen        = "open-store"
	RuleOpenEmpty   = "open-store-empty"
	RuleHardcoded   = "hardcoded-credential"
	RuleCleartext   = "cleartext-transport"
	RuleAuthNoTLS   = "auth-without-tls"
	RuleOutdated    = "outdated-version"
	RuleReachable   = "store-reachable"
	RuleHoneypot    = "honeypot-suspected"
)

// adminDetail is a detail a prober sets when anonymous access is admin:
// the value itself, or the value as the first word ("root with empty
// password").
type adminDetail struct {
	store, key, value, what string
}

// adminDetails is the admin-level access table, read from Result.Details.
var adminDetails = []adminDetail{
	{"couchdb", "admin_party", "true", "anyone is server admin (admin party)"},
	{"mysql", "login", "root", "the root account logs in with an empty password"},
	{"postgres", "superuser", "on", "the session is a superuser's"},
	{"couchbase", "admin_creds", "true", "the cluster manager grants admin rights without credentials"},
	{"redis", "config_get", "ok", "CONFIG answers: anyone can rewrite the server's configuration"},
}

// adminAccess returns what admin access a result shows, if any.
func adminAccess(r *gown.Result) (string, bool) {
	for _, a := range adminDetails {
		if v := r.Details[a.key]; r.Store == a.store && (v == a.value || strings.HasPrefix(v, a.value+" ")) {
			return a.what, true
		}
	}
	return "", false
}
