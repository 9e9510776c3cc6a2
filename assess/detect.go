package assess

import (
	"strings"
	"sync"

	"github.com/gownscan/gown/internal/lazyre"
)

// Sensitive-data classes, by the names reports and the test bed use.
const (
	ClassName          = "name"
	ClassEmail         = "email"
	ClassPhone         = "phone"
	ClassPassword      = "password" // a plaintext password
	ClassPasswordHash  = "password-hash"
	ClassCard          = "payment-card"
	ClassIBAN          = "iban"
	ClassGovID         = "government-id"
	ClassGeo           = "geo"
	ClassDeviceID      = "device-id"
	ClassAccessToken   = "access-token"
	ClassAPIKey        = "api-key"
	ClassIP            = "ip-address"
	ClassPostalAddress = "postal-address"
)

// Classes lists every class, most harmful first: the order reports list
// them in.
var Classes = []string{
	ClassPassword, ClassPasswordHash, ClassCard, ClassIBAN, ClassGovID, ClassAccessToken, ClassAPIKey,
	ClassEmail, ClassPhone, ClassName, ClassPostalAddress, ClassGeo, ClassDeviceID, ClassIP,
}

// Sensitive reports whether a class makes an open store critical. An IP
// address alone does not: servers' own addresses fill configuration and
// logs, and a store holding only those is high, not critical.
func Sensitive(class string) bool { return class != ClassIP && class != "" }

// fieldRule is one row of the field table: a field holds class when its
// name matches name (any name if empty), is not vetoed by not, and its value
// passes value. On says which words name is matched against.
type fieldRule struct {
	class string
	on    on
	name  string
	not   string
	value func(string) bool
	// ctx, when set, must match the field's parent or the record's
	// context too (a bare "name" is a person's only in a users table).
	ctx string
}

// on chooses the words a rule's name pattern reads.
type on int

const (
	onLeaf on = iota // the field's own name
	onPath           // every named segment: "shipping.address.city"
)

// Word sets shared by several rows.
const (
	pwWords = `_(pass|password|passwords|passwd|pwd|pw|passcode|passphrase|pwhash|passwordhash|passworddigest)_`
	pwNot   = `_(pass|password|passwd|pwd|passcode)_(rate|count|changed|change|reset|expires|expire|expiry|updated|policy|strength|length|len|hint|required|set|at|date|time|ts|min|max|last|attempts|fail|failed|failures|version|algo|algorithm|type|salt|iterations|rounds|cost|enabled|protected|mode|rule|rules|history)_` +
		`|_(boarding|bus|season|ski|day|hall|free|by|bypass|through|gate|event|year|month|week)_pass_|_(last|failed|is|has|must|need|needs|use|show|forgot|reset|change|new|confirm)_(pass|password)_`
	personCtx = `_(user|users|customer|customers|person|persons|people|patient|patients|member|members|contact|contacts|employee|employees|profile|profiles|account|accounts|owner|owners|author|authors|driver|drivers|passenger|passengers|guest|guests|student|students|client|clients|buyer|buyers|seller|sellers|recipient|recipients|sender|senders|cardholder|holder|subscriber|subscribers|applicant|applicants|candidate|candidates|traveler|travelers|traveller|travellers|player|players|rider|riders|tenant|tenants|doctor|doctors|staff|teacher|teachers|parent|parents|child|children|beneficiary|consumer|consumers|shopper|shoppers|participant|participants|attendee|attendees|resident|residents|visitor|visitors)_`
	geoCtx    = `_(location|locations|loc|geo|geoloc|geolocation|coord|coords|coordinate|coordinates|position|pos|latlng|latlon|lat_lng|lat_lon|gps|point|geopoint|geo_point|place|where|whereabouts|last_location|home_location|current_location|pin)_`
)

// fieldRules is the field table. Rows without a name pattern decide by the
// value alone and must be strict (check digits, formats that cannot be
// anything else); rows with one accept looser values.
var fieldRules = []fieldRule{
	{class: ClassEmail, value: func(v string) bool { _, ok := findEmail(v); return ok }},

	{class: ClassPhone, value: isIntlPhone,
		not: `_(version|price|amount|total|delta|diff|change|offset|tz|timezone|utc|score|count|balance|temp|temperature|lat|lon|lng|rating|percent|pct)_`},
	{class: ClassPhone, name: `_(phone|phones|mobile|mobiles|mobilephone|cellphone|cell|tel|telephone|phonenumber|mobilenumber|msisdn|whatsapp|fax|sms)_`,
		not: `_(model|brand|os|type|verified|country|prefix|ext|extension|count|enabled|code)_`, value: isPhone},

	{class: ClassPasswordHash, value: isCryptHash},
	{class: ClassPasswordHash, name: pwWords, not: pwNot, value: isDigestHash},
	{class: ClassPassword, name: pwWords, not: pwNot, value: isPlaintextPassword},

	{class: ClassCard, value: isCard,
		not: `_(id|ids|uuid|guid|order|orders|sku|ean|upc|gtin|isbn|barcode|tracking|serial|imei|meid|ts|time|timestamp|epoch|nonce|seq|sequence|version|build|phone|msisdn|mobile|tel|invoice|ref|reference|count|total|amount|size|bytes|checksum|hash|offset|number_of|seed|salt|random|rand|crc|fingerprint|gtin13|nonce)_`},
	{class: ClassCard, name: `_(card|cards|cc|ccnum|ccnumber|cardnumber|cardno|cardnum|creditcard|debitcard|pan)_`,
		not: `_(id|token|last4|last_four|lastfour|bin|type|brand|expiry|exp|expires|cvv|cvc|holder|name|count|fingerprint|hash|masked|color|colour|title|image)_`, value: isCardLoose},

	{class: ClassIBAN, value: isIBAN},

	{class: ClassGovID, value: func(v string) bool { return isSSN(v) || isCPF(v) },
		not: `_(phone|tel|mobile|fax|date|time|version|zip|postcode|sku|part|model|serial)_`},
	{class: ClassGovID, name: `_(ssn|ssns|social_security|socialsecurity|national_id|nationalid|national_insurance|nino|nin|tax_id|taxid|tin|tax_number|passport|passport_number|passportnumber|passport_no|dni|nie|nif|cpf|aadhaar|aadhar|personnummer|bsn|pesel|id_card|idcard|id_number|identity_number|driver_license|drivers_license|driver_licence|drivers_licence|driverlicense|social_insurance)_`,
		not: `_(country|type|expiry|expires|issued|verified|image|photo|scan|url|status|date)_`, value: isGovID},

	{class: ClassAccessToken, value: func(v string) bool { _, ok := findJWT(v); return ok }},
	{class: ClassAccessToken, name: `_(access_token|accesstoken|refresh_token|refreshtoken|auth_token|authtoken|id_token|idtoken|session_token|sessiontoken|session_id|sessionid|session_key|sid|bearer|oauth_token|oauth|jwt|token|tokens|api_token|apitoken|authorization|auth_key|remember_token|reset_token|magic_link)_`,
		not:   `_(page|next|continuation|cursor|csrf|xsrf|type|expires|expiry|expires_at|expires_in|ttl|count|length|len|scope|scopes|issued|created|updated|endpoint|url|uri|name|hint|version|kind|format|enabled|push|fcm|apns|gcm|device|registration|notification)_`,
		value: func(v string) bool { return isToken(v) || uuidRe.MatchString(strings.TrimSpace(v)) }},

	{class: ClassAPIKey, value: func(v string) bool { _, ok := findAPIKey(v); return ok }},
	{class: ClassAPIKey, name: `_(api_key|apikey|api_secret|apisecret|secret_key|secretkey|client_secret|clientsecret|app_secret|appsecret|consumer_secret|private_key|privatekey|signing_key|signingkey|access_key|accesskey|secret|secrets|master_key|masterkey|encryption_key|webhook_secret)_`,
		not: `_(public|publishable|pub|name|type|version|rotated|created|expires|enabled|hint|header|id_only|length)_`, value: isToken},

	{class: ClassDeviceID, name: `_(imei|imeis|meid|imeisv)_`, value: isIMEI},
	{class: ClassDeviceID, name: `_(idfa|idfv|gaid|aaid|adid|ad_id|advertising_id|advertisingid|advertiser_id|device_id|deviceid|android_id|androidid|udid|hardware_id|hwid|installation_id|install_id|installationid)_`,
		value: isDeviceID},
	{class: ClassDeviceID, name: `_(push_token|pushtoken|fcm|fcm_token|fcmtoken|gcm|gcm_token|apns|apns_token|apnstoken|device_token|devicetoken|registration_id|registration_token|notification_token)_`,
		value: isPushToken},

	{class: ClassIP, name: `_(ip|ips|ip_addr|ip_address|ipaddr|ipaddress|ipv4|ipv6|remote_addr|remote_address|remoteaddr|client_addr|client_address|peer_addr|peer_address|x_forwarded_for|forwarded_for|xff)_`,
		value: isIP},
	{class: ClassIP, value: isPublicIP,
		not: `_(version|versions|ver|vers|build|release|revision|rev|firmware|fw|sdk|os|semver|tag|tags|app|api|schema|protocol|min|max|target|compat|compatible|kernel|format|dependency|dependencies|package|packages|lib|library)_`},

	{class: ClassName, name: `_(full_name|fullname|first_name|firstname|last_name|lastname|sur_name|surname|given_name|givenname|family_name|familyname|middle_name|middlename|maiden_name|display_name|displayname|real_name|realname|legal_name|cardholder|card_holder|cardholder_name|holder_name|account_holder|contact_name|customer_name|patient_name|billing_name|shipping_name|recipient_name|forename|forenames)_`,
		value: isPersonName},
	{class: ClassName, name: `^_name_$`, ctx: personCtx, value: isPersonName},

	{class: ClassPostalAddress, on: onPath, name: `_(address|addresses|address1|address2|address3|street|street_address|streetaddress|address_line|address_line1|address_line2|addressline|addressline1|addressline2|addr|addr1|addr2|postal_address|home_address|shipping_address|billing_address|mailing_address|residential_address|house_number|housenumber|residence)_`,
		not:   `_(email|e_mail|mail|ip|ipv4|ipv6|mac|wallet|btc|eth|bitcoin|crypto|contract|remote|server|host|url|uri|web|website|memory|mem|bluetooth|ble|hw|hardware|ethernet|network|net|node|peer|listen|bind|local|public|private|client|id|ids|hash|type|verified|count|book|ref|validated|lat|lon|lng|latitude|longitude|geo|country|country_code|label|kind|status|default|primary)_`,
		value: isPostal},
	{class: ClassPostalAddress, name: `_(zip|zips|zip_code|zipcode|postcode|post_code|postal_code|postalcode|plz)_`,
		not: `_(file|archive|compressed|gzip|count|type)_`, value: isPostcode},

	{class: ClassGeo, value: isWKTPoint},
	{class: ClassGeo, name: geoCtx, value: isLatLonText},
	{class: ClassGeo, name: `_(geohash|geo_hash)_`, value: isGeohash},
}

// apiKeyFormat is a key issuer's documented token format.
type apiKeyFormat struct {
	name string
	re   *lazyre.Regexp
}

// apiKeyFormats are the formats secret scanners agree on: a fixed prefix
// that names the issuer and a fixed-length body. Publishable keys (Stripe
// pk_, Google's are not among them) are not secrets; Google API keys are
// listed because most are unrestricted.
var apiKeyFormats = []apiKeyFormat{
	{"aws-access-key-id", lazyre.New(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z2-7]{16}\b`)},
	{"google-api-key", lazyre.New(`\bAIza[0-9A-Za-z_-]{35}\b`)},
	{"github-token", lazyre.New(`\bgh[pousr]_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{82}\b`)},
	{"gitlab-token", lazyre.New(`\bglpat-[A-Za-z0-9_-]{20}\b`)},
	{"slack-token", lazyre.New(`\bxox[baprs]-[A-Za-z0-9-]{10,72}\b`)},
	{"stripe-secret-key", lazyre.New(`\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,99}\b`)},
	{"sendgrid-api-key", lazyre.New(`\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b`)},
	{"twilio-api-key", lazyre.New(`\bSK[0-9a-f]{32}\b`)},
	{"mailgun-api-key", lazyre.New(`\bkey-[0-9a-f]{32}\b`)},
	{"openai-api-key", lazyre.New(`\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}\b|\bsk-proj-[A-Za-z0-9_-]{40,}\b`)},
	{"private-key", lazyre.New(`-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----`)},
}

// keyPrefixes are literal parts every format's match holds: a value with
// none of them skips the pattern.
var keyPrefixes = []string{"AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA", "AIza", "gh", "glpat-", "xox", "k_live_", "k_test_", "SG.", "SK", "key-", "sk-", "-----BEGIN"}

func hasKeyPrefix(v string) bool {
	for _, p := range keyPrefixes {
		if strings.Contains(v, p) {
			return true
		}
	}
	return false
}

// anyAPIKey is every format in one pattern: one pass over a value finds
// whether any is there.
var anyAPIKey = func() *lazyre.Regexp {
	var alts []string
	for _, f := range apiKeyFormats {
		alts = append(alts, "(?:"+f.re.String()+")")
	}
	return lazyre.New(strings.Join(alts, "|"))
}()

// findAPIKey finds a key of a known format anywhere in v and returns it
// (a private key from its BEGIN line on, so the mask can name the kind).
func findAPIKey(v string) (string, bool) {
	if !hasKeyPrefix(v) {
		return "", false
	}
	m := anyAPIKey.FindString(v)
	if m == "" {
		return "", false
	}
	if strings.HasPrefix(m, "-----BEGIN") {
		return v[strings.Index(v, m):], true
	}
	return m, true
}

// compiledRule is a fieldRule with its patterns compiled.
type compiledRule struct {
	fieldRule
	name, not, ctx *lazyre.Regexp
}

// compiledRules is fieldRules ready to run, built on first use rather than
// at every start of gown.
var compiledRules = sync.OnceValue(func() []compiledRule { return compileRules(fieldRules) })

func compileRules(rules []fieldRule) []compiledRule {
	out := make([]compiledRule, len(rules))
	re := func(s string) *lazyre.Regexp {
		if s == "" {
			return nil
		}
		return lazyre.New(s)
	}
	for i, r := range rules {
		if r.value == nil {
			panic("assess: field rule for " + r.class + " has no value check")
		}
		out[i] = compiledRule{fieldRule: r, name: re(r.name), not: re(r.not), ctx: re(r.ctx)}
	}
	return out
}

// nameOK says whether a field's names let the rule apply: the name
// pattern matches, no veto does, and the context, if asked, is there.
func (c *compiledRule) nameOK(f *field, rec *record) bool {
	words := f.leaf
	if c.on == onPath {
		words = f.words
	}
	if c.name != nil && !c.name.MatchString(words) {
		return false
	}
	if c.not != nil && (c.not.MatchString(f.leaf) || (c.on == onPath && c.not.MatchString(f.words))) {
		return false
	}
	if c.ctx != nil && !c.ctx.MatchString(f.parent) && !c.ctx.MatchString(rec.ctx) {
		return false
	}
	return true
}

// match applies one rule to one field of rec and returns the part of the
// value that holds the class (the whole value, or the address or token
// found in free text).
func (c *compiledRule) match(f *field, rec *record) (string, bool) {
	if !c.nameOK(f, rec) || !c.value(f.value) {
		return "", false
	}
	return extract(c.class, f.value), true
}

// nameCache remembers nameOK per rule and names: a sample's records share
// their columns, so the name patterns run once per column, not per value.
type nameCache map[nameKey]bool

type nameKey struct {
	rule                     int
	leaf, words, parent, ctx string
}

func (nc nameCache) ok(i int, f *field, rec *record) bool {
	c := &compiledRules()[i]
	if c.name == nil && c.not == nil && c.ctx == nil {
		return true
	}
	k := nameKey{i, f.leaf, f.words, f.parent, rec.ctx}
	if c.ctx == nil {
		k.parent, k.ctx = "", ""
	}
	if v, ok := nc[k]; ok {
		return v
	}
	v := c.nameOK(f, rec)
	if len(nc) < 1<<14 {
		nc[k] = v
	}
	return v
}

// extract picks the sensitive part out of a value that matched: the
// address or token inside free text, else the trimmed value.
func extract(class, v string) string {
	switch class {
	case ClassEmail:
		if m, ok := findEmail(v); ok {
			return m
		}
	case ClassAccessToken:
		if m, ok := findJWT(v); ok {
			return m
		}
	case ClassAPIKey:
		if m, ok := findAPIKey(v); ok {
			return m
		}
	}
	return strings.TrimSpace(v)
}
