package report

import "github.com/gownscan/gown"

// Rule describes one kind of finding for readers of a report: SARIF puts it
// in tool.driver.rules, HTML and Markdown link a finding's rule to its help.
// This table is the one place rule texts live; assess decides when a rule
// fires. A finding whose rule is missing here is still reported, with its
// title standing in for the descriptions.
type Rule struct {
	ID string
	// Name is a PascalCase name (SARIF reportingDescriptor.name).
	Name string
	// Short is one sentence; Full says what was checked and why it matters.
	Short, Full string
	// Help says what to do about it.
	Help string
	// Severity is the rule's severity, as in docs/severity.md.
	Severity gown.Severity
}

// Rules lists every rule gown reports, in the order SARIF indexes them. New
// rules are appended, never inserted, so that SARIF rule indexes stay stable.
var Rules = []Rule{
	{
		ID: "open-store", Name: "OpenDataStore", Severity: gown.SeverityHigh,
		Short: "A data store answers without authentication.",
		Full: "The store returned its data listing (databases, indices, keys or tables) to a client that " +
			"presented no credentials. Anyone who finds the address can read, and usually change or delete, " +
			"what it holds; open stores are found by Internet-wide scans within hours and are routinely " +
			"copied, wiped and ransomed.",
		Help: "Turn on authentication (Redis requirepass or ACLs, MySQL/MariaDB passwords for every account, " +
			"PostgreSQL scram-sha-256 in pg_hba.conf, Elasticsearch/OpenSearch security plugin, MongoDB " +
			"--auth), bind the store to private addresses only, and firewall its port from the Internet. " +
			"Then assume what it held was read: rotate secrets stored in it and review access logs.",
	},
	{
		ID: "auth-without-tls", Name: "AuthenticationWithoutTLS", Severity: gown.SeverityLow,
		Short: "A data store asks for credentials but offers no TLS.",
		Full: "Authentication is on, but the store speaks only plain text, so the credentials and the data " +
			"cross the network readable by anyone on the path.",
		Help: "Enable TLS on the store (or put it behind a TLS-terminating proxy or a VPN) and require it " +
			"for every client; keep the port off the public Internet.",
	},
	{
		ID: "store-reachable", Name: "DataStoreReachable", Severity: gown.SeverityInfo,
		Short: "A data store is reachable but refuses this client.",
		Full: "The store answered on its port but refused this client before any data (host not allowed, " +
			"protected mode, ACL). It is not open, but its port is exposed to the network gown scanned from.",
		Help: "If the store need not be reachable from this network, firewall its port; keep the " +
			"host-based restriction that refused gown.",
	},
	{
		ID: "sensitive-data", Name: "SensitiveDataExposed", Severity: gown.SeverityCritical,
		Short: "An open data store holds personal data or secrets.",
		Full: "gown read a few records of the open store (at most K per collection, within a byte cap) and " +
			"found sensitive classes in them: e-mail addresses, phone numbers, passwords or password hashes, " +
			"payment cards (Luhn-checked), IBANs (mod-97), government ids, locations, device ids, access " +
			"tokens or API keys, names or postal addresses. Only counts, field names and masked examples " +
			"were kept. What a few sampled records hold, the rest of the store very likely holds too.",
		Help: "Close the store first (see open-store). Then treat it as a breach: find out since when it was " +
			"open and whether it was read (access logs, Internet scan data), rotate every token, key and " +
			"password it held, and follow your breach-notification duties for the personal data.",
	},
	{
		ID: "admin-access", Name: "AdminAccessWithoutAuthentication", Severity: gown.SeverityCritical,
		Short: "Anyone gets admin rights on the data store.",
		Full: "The store's own answers show that an anonymous client is an administrator: a CouchDB admin " +
			"party, a MySQL or MariaDB root account with an empty password, a PostgreSQL superuser session, " +
			"Couchbase admin credentials, or a Redis that answers CONFIG. An administrator can read and " +
			"delete everything, create accounts and often run code on the host.",
		Help: "Set an admin password or remove the passwordless admin account now, bind the store to private " +
			"addresses and firewall it. Check for accounts, configuration changes and files you did not make.",
	},
	{
		ID: "compromised", Name: "DataStoreAlreadyCompromised", Severity: gown.SeverityCritical,
		Short: "The data store shows signs it was already attacked.",
		Full: "gown found the marks attackers leave on open stores: a ransom note (a database, index, " +
			"collection or key named to be read, or text with a bitcoin address and a contact e-mail), a " +
			"store emptied but for the note, the 2020 Meow bot's wipe, Redis keys holding cron jobs or SSH " +
			"keys written through CONFIG SET, or a Redis replica of a master on a stranger's network.",
		Help: "Assume the data was copied before it was deleted: paying rarely brings it back. Take the store " +
			"off the network, keep its files for investigation, restore from your own backup into a store " +
			"with authentication, and check the host for the cron jobs, SSH keys or modules the attack planted.",
	},
	{
		ID: "open-store-empty", Name: "OpenEmptyDataStore", Severity: gown.SeverityMedium,
		Short: "A data store answers without authentication but holds no data gown could see.",
		Full: "The store gave its listing to a client without credentials, but the listing showed no " +
			"records. Whatever it will hold, and its configuration, are open to anyone who finds it.",
		Help: "Turn on authentication and firewall the port before the store is used; check whether it was " +
			"emptied by someone else (see compromised).",
	},
	{
		ID: "hardcoded-credential", Name: "HardCodedCredential", Severity: gown.SeverityMedium,
		Short: "An app ships a hard-coded store password or API key.",
		Full: "The app's code or resources hold a credential: a password in a connection string or an API " +
			"key. Anyone who downloads the app can extract it.",
		Help: "Remove the credential from the app and rotate it; let the app reach data through your own " +
			"authenticated API, or use restricted keys (per-app, per-API, per-origin) where a key must ship.",
	},
	{
		ID: "cleartext-transport", Name: "CleartextTransport", Severity: gown.SeverityMedium,
		Short: "An app sends data over clear-text connections.",
		Full: "The app's transport policy allows clear text and the app names http:// or ws:// endpoints: " +
			"its traffic, tokens included, can be read and changed on the network.",
		Help: "Serve every endpoint over HTTPS or WSS and turn clear text off in the app's network security " +
			"configuration (Android) or App Transport Security settings (iOS).",
	},
	{
		ID: "outdated-version", Name: "OutdatedDataStoreVersion", Severity: gown.SeverityLow,
		Short: "The data store runs a version its vendor no longer supports.",
		Full: "The version the store announces is older than the oldest release line that still gets " +
			"security fixes, so known vulnerabilities stay unfixed.",
		Help: "Upgrade to a supported release line.",
	},
	{
		ID: "honeypot-suspected", Name: "PossibleHoneypot", Severity: gown.SeverityInfo,
		Short: "The service may be a honeypot.",
		Full: "Its answers are inconsistent in ways real stores are not: more records than bytes, identical " +
			"counts in every database, a honeypot's out-of-the-box banner, or one address answering as " +
			"several different stores. The findings beside it may describe a decoy, not real data.",
		Help: "Check who runs the address before acting on its other findings; if it is yours, nothing to do.",
	},
}

// RuleByID finds a rule in Rules and its index.
func RuleByID(id string) (Rule, int, bool) {
	for i, r := range Rules {
		if r.ID == id {
			return r, i, true
		}
	}
	return Rule{}, -1, false
}
