package assess

import (
	"slices"

	"github.com/gownscan/gown"
)

// Rule is one row of gown's rule table: when a finding fires, how severe it
// is, and what a reader of a report is told about it. This table is the one
// place rules are described: assess grades by it, the SARIF writer lists it
// as tool.driver.rules, the HTML and Markdown reports link to its texts, and
// the rule table of docs/severity.md is generated from it (go test
// ./assess -run TestSeverityDoc -update) and checked against it.
type Rule struct {
	ID       string
	Severity gown.Severity
	// Condition says when the rule fires and Example shows a finding's
	// title; both are Markdown, as docs/severity.md prints them.
	Condition, Example string
	// Name is a PascalCase name (SARIF reportingDescriptor.name).
	Name string
	// Short is one sentence; Full says what was checked and why it matters.
	Short, Full string
	// Remediation says what to do about it.
	Remediation string
	// CWE is the weakness the rule is an instance of ("CWE-306"), or ""
	// when none fits (a honeypot is no weakness).
	CWE string
}

// Rules lists every rule, in the order SARIF indexes them. New rules are
// appended, never inserted, so that SARIF rule indexes stay stable; the
// documentation lists them most severe first (ByDocOrder).
var Rules = []Rule{
	{
		ID: RuleOpen, CWE: "CWE-306", Name: "OpenDataStore", Severity: gown.SeverityHigh,
		Condition: "open (data readable without credentials) and the inventory holds items",
		Example:   "Redis answers without authentication and holds 18723 items",
		Short:     "A data store answers without authentication.",
		Full: "The store returned its data listing (databases, indices, keys or tables) to a client that " +
			"presented no credentials. Anyone who finds the address can read, and usually change or delete, " +
			"what it holds; open stores are found by Internet-wide scans within hours and are routinely " +
			"copied, wiped and ransomed.",
		Remediation: "Turn on authentication (Redis requirepass or ACLs, MySQL/MariaDB passwords for every account, " +
			"PostgreSQL scram-sha-256 in pg_hba.conf, Elasticsearch/OpenSearch security plugin, MongoDB " +
			"--auth), bind the store to private addresses only, and firewall its port from the Internet. " +
			"Then assume what it held was read: rotate secrets stored in it and review access logs.",
	},
	{
		ID: RuleAuthNoTLS, CWE: "CWE-319", Name: "AuthenticationWithoutTLS", Severity: gown.SeverityLow,
		Condition: "auth-required and no TLS: credentials and data cross the network in clear",
		Example:   "PostgreSQL asks for credentials but offers no TLS: they cross the network in clear",
		Short:     "A data store asks for credentials but offers no TLS.",
		Full: "Authentication is on, but the store speaks only plain text, so the credentials and the data " +
			"cross the network readable by anyone on the path.",
		Remediation: "Enable TLS on the store (or put it behind a TLS-terminating proxy or a VPN) and require it " +
			"for every client; keep the port off the public Internet.",
	},
	{
		ID: RuleReachable, CWE: "CWE-668", Name: "DataStoreReachable", Severity: gown.SeverityInfo,
		Condition: "restricted or protected: reachable, refuses this client",
		Example:   "Redis is reachable but refuses this client (restricted)",
		Short:     "A data store is reachable but refuses this client.",
		Full: "The store answered on its port but refused this client before any data (host not allowed, " +
			"protected mode, ACL). It is not open, but its port is exposed to the network gown scanned from.",
		Remediation: "If the store need not be reachable from this network, firewall its port; keep the " +
			"host-based restriction that refused gown.",
	},
	{
		ID: RuleSensitive, CWE: "CWE-200", Name: "SensitiveDataExposed", Severity: gown.SeverityCritical,
		Condition: "open, and sampled records hold a sensitive class (any class but `ip-address`)",
		Example:   "MariaDB exposes sensitive data without authentication: password-hash, payment-card, email (in at least 3 of 5 sampled records)",
		Short:     "An open data store holds personal data or secrets.",
		Full: "gown read a few records of the open store (at most K per collection, within a byte cap) and " +
			"found sensitive classes in them: e-mail addresses, phone numbers, passwords or password hashes, " +
			"payment cards (Luhn-checked), IBANs (mod-97), government ids, locations, device ids, access " +
			"tokens or API keys, names or postal addresses. Only counts, field names and masked examples " +
			"were kept. What a few sampled records hold, the rest of the store very likely holds too.",
		Remediation: "Close the store first (see open-store). Then treat it as a breach: find out since when it was " +
			"open and whether it was read (access logs, Internet scan data), rotate every token, key and " +
			"password it held, and follow your breach-notification duties for the personal data.",
	},
	{
		ID: RuleAdmin, CWE: "CWE-1188", Name: "AdminAccessWithoutAuthentication", Severity: gown.SeverityCritical,
		Condition: "open with admin rights, as the prober reports in the typed fact `facts.admin`: a CouchDB admin party, a MySQL/MariaDB `root` login with an empty password, a PostgreSQL superuser session, Couchbase `isAdminCreds`",
		Example:   "CouchDB gives admin access without authentication: anyone is server admin (admin party)",
		Short:     "Anyone gets admin rights on the data store.",
		Full: "The store's own answers show that an anonymous client is an administrator: a CouchDB admin " +
			"party, a MySQL or MariaDB root account with an empty password, a PostgreSQL superuser session " +
			"or Couchbase admin credentials granted without a login. An administrator can read and " +
			"delete everything, create accounts and often run code on the host.",
		Remediation: "Set an admin password or remove the passwordless admin account now, bind the store to private " +
			"addresses and firewall it. Check for accounts, configuration changes and files you did not make.",
	},
	{
		ID: RuleCompromised, CWE: "CWE-306", Name: "DataStoreAlreadyCompromised", Severity: gown.SeverityCritical,
		Condition: "a compromise sign: `ransom-note`, `wiped`, `meow`, `redis-cron`, `redis-ssh-key`, `foreign-master`; one finding per sign kind",
		Example:   "MongoDB was already compromised: ransom-note at READ_ME_TO_RECOVER_YOUR_DATA: named like a ransom note (read me, recover, your data); text demands ransom (bitcoin address bc1q…, contact e-mail d\\*\\*\\*@o\\*\\*\\*.test)",
		Short:     "The data store shows signs it was already attacked.",
		Full: "gown found the marks attackers leave on open stores: a ransom note (a database, index, " +
			"collection or key named to be read, or text with a bitcoin address and a contact e-mail), a " +
			"store emptied but for the note, the 2020 Meow bot's wipe, Redis keys holding cron jobs or SSH " +
			"keys written through CONFIG SET, or a Redis replica of a master on a stranger's network.",
		Remediation: "Assume the data was copied before it was deleted: paying rarely brings it back. Take the store " +
			"off the network, keep its files for investigation, restore from your own backup into a store " +
			"with authentication, and check the host for the cron jobs, SSH keys or modules the attack planted.",
	},
	{
		ID: RuleOpenEmpty, CWE: "CWE-306", Name: "OpenEmptyDataStore", Severity: gown.SeverityMedium,
		Condition: "open, but no items seen",
		Example:   "Elasticsearch answers without authentication (no data seen)",
		Short:     "A data store answers without authentication but holds no data gown could see.",
		Full: "The store gave its listing to a client without credentials, but the listing showed no " +
			"records. Whatever it will hold, and its configuration, are open to anyone who finds it.",
		Remediation: "Turn on authentication and firewall the port before the store is used; check whether it was " +
			"emptied by someone else (see compromised).",
	},
	{
		ID: RuleHardcoded, CWE: "CWE-798", Name: "HardCodedCredential", Severity: gown.SeverityMedium,
		Condition: "an app holds a hard-coded store password or API key; one finding per credential kind",
		Example:   "com.example.shop holds 2 hard-coded google-api-key credentials; com.example.shop holds a store password in 1 connection string (for db.shop.example)",
		Short:     "An app ships a hard-coded store password or API key.",
		Full: "The app's code or resources hold a credential: a password in a connection string or an API " +
			"key. Anyone who downloads the app can extract it.",
		Remediation: "Remove the credential from the app and rotate it; let the app reach data through your own " +
			"authenticated API, or use restricted keys (per-app, per-API, per-origin) where a key must ship.",
	},
	{
		ID: RuleCleartext, CWE: "CWE-319", Name: "CleartextTransport", Severity: gown.SeverityMedium,
		Condition: "an app's transport policy allows clear text and the app names `http://` or `ws://` endpoints",
		Example:   "com.example.shop allows clear-text traffic (AndroidManifest.xml: android:usesCleartextTraffic=true) to 2 http:// or ws:// endpoints: http://api.shop.example/v1, ws://chat.shop.example/",
		Short:     "An app sends data over clear-text connections.",
		Full: "The app's transport policy allows clear text and the app names http:// or ws:// endpoints: " +
			"its traffic, tokens included, can be read and changed on the network.",
		Remediation: "Serve every endpoint over HTTPS or WSS and turn clear text off in the app's network security " +
			"configuration (Android) or App Transport Security settings (iOS).",
	},
	{
		ID: RuleOutdated, CWE: "CWE-1104", Name: "OutdatedDataStoreVersion", Severity: gown.SeverityLow,
		Condition: "the version is older than the product's oldest supported line (`assess/data/versions.json`)",
		Example:   "Elasticsearch 7.10.2 is past its vendor's support: the oldest supported line is 7.17",
		Short:     "The data store runs a version its vendor no longer supports.",
		Full: "The version the store announces is older than the oldest release line that still gets " +
			"security fixes, so known vulnerabilities stay unfixed.",
		Remediation: "Upgrade to a supported release line.",
	},
	{
		ID: RuleHoneypot, Name: "PossibleHoneypot", Severity: gown.SeverityInfo,
		Condition: "honeypot signs: sizes inconsistent with counts, identical counts, a canned banner, or one address answering as 3 or more stores",
		Example:   "MongoDB may be a honeypot: honeypot at users: reports 90000 records in 2048 bytes",
		Short:     "The service may be a honeypot.",
		Full: "Its answers are inconsistent in ways real stores are not: more records than bytes, identical " +
			"counts in every database, a honeypot's out-of-the-box banner, or one address answering as " +
			"several different stores. The findings beside it may describe a decoy, not real data.",
		Remediation: "Check who runs the address before acting on its other findings; if it is yours, nothing to do.",
	},
	{
		ID: RuleTrafficPersonal, Name: "CleartextPersonalData", Severity: gown.SeverityHigh,
		Condition: "a capture or HAR file (gown traffic) shows a sensitive class (any class but `ip-address`) sent or received in clear text",
		Example:   "traffic to api.shop.example:80 (http) carried personal data in clear text: email, phone (in 3 records)",
		Short:     "Personal data or secrets crossed the network in clear text.",
		Full: "Recorded traffic (a pcap, pcapng or HAR file) shows requests or replies to this back end in " +
			"clear text (HTTP, or a data store's own protocol) that carry sensitive classes: e-mail addresses, " +
			"phone numbers, payment cards, locations, tokens. Anyone on the path (the Wi-Fi, the carrier, a " +
			"compromised router) reads them, and can change them. Only counts and masked examples were kept.",
		Remediation: "Serve the back end over TLS only (HTTPS, the store's TLS port) and make the app refuse clear " +
			"text; never let an app talk to a data store directly over the Internet.",
	},
	{
		ID: RuleTrafficCredential, Name: "CleartextCredential", Severity: gown.SeverityHigh,
		Condition: "a capture or HAR file shows a credential sent in clear text: HTTP Basic or bearer, Redis AUTH, a MySQL/MariaDB, PostgreSQL, MongoDB or memcached login",
		Example:   "traffic to 203.0.113.7:6379 (redis) sent a credential in clear text: redis-auth (password in clear)",
		Short:     "A credential crossed the network in clear text.",
		Full: "Recorded traffic shows a password, token or database login sent without TLS. A password in " +
			"clear is read directly; a challenge-response over clear text (MySQL native, PostgreSQL md5) can be " +
			"cracked offline from what was recorded; a login with an empty password shows the store is open.",
		Remediation: "Rotate the credential, require TLS on the back end, and keep data stores off the networks " +
			"apps reach; an app should hold no store credential at all.",
	},
	{
		ID: RuleTrafficCleartext, Name: "CleartextTraffic", Severity: gown.SeverityMedium,
		Condition: "a capture or HAR file shows application data sent in clear text (no sensitive class seen) to a first-party back end, or a data store's protocol in clear text to a host of unknown party or an internal one (never to third-party or development hosts)",
		Example:   "traffic to api.shop.example:80 (http) crossed in clear text (4 connections)",
		Short:     "An app's traffic to its back end crossed the network in clear text.",
		Full: "Recorded traffic shows the app speaking to its own back end without TLS. Nothing sensitive was " +
			"seen in what was recorded, but what the app sends there can be read and changed on the network.",
		Remediation: "Serve the back end over TLS only and turn clear text off in the app (Android network security " +
			"configuration, iOS App Transport Security).",
	}}

// RuleByID finds a rule and its index in Rules.
func RuleByID(id string) (Rule, int, bool) {
	for i, r := range Rules {
		if r.ID == id {
			return r, i, true
		}
	}
	return Rule{}, -1, false
}

// ByDocOrder returns the rules most severe first, in table order within a
// severity: the order of docs/severity.md.
func ByDocOrder() []Rule {
	out := slices.Clone(Rules)
	slices.SortStableFunc(out, func(a, b Rule) int { return int(b.Severity) - int(a.Severity) })
	return out
}

// severityOf returns a rule's severity from the table.
func severityOf(rule string) gown.Severity {
	if r, _, ok := RuleByID(rule); ok {
		return r.Severity
	}
	panic("assess: rule " + rule + " is not in the rule table")
}
