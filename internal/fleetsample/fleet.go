// Package fleetsample is the sample fleet gown's fleet tests and the
// committed sample exports (fleet/testdata/sample) are built from: 50
// devices, 20 apps, 5 of them in-house apps with binaries the tests build,
// rendered in each MDM format gown reads with the columns and fields the
// vendors document (fleet/formats.go, fleet/jsonfmt.go cite them).
//
// Two fleets, because Jamf Pro manages Apple devices only: Mixed (30
// Android and 20 iOS devices; its binaries are three APKs and two IPAs)
// for Intune, Workspace ONE and gown's generic format; Apple (50 iOS
// devices; five IPAs) for Jamf Pro. Both name the same four back ends.
//
// Everything here is synthetic: people, addresses and ids are made up
// under acme-fleet.net. It is test tooling; the gown binary never links it.
package fleetsample

import (
	"fmt"
	"strings"
)

// Domain is the made-up company's domain: a name under a real public
// suffix, so that extraction takes its hosts for Internet hosts, mapped to
// the test bed with --resolve and never looked up.
const Domain = "acme-fleet.net"

// Backend names a back end the in-house apps talk to: the test-bed
// configuration that plays it and the host name the apps use.
type Backend struct {
	Bed  string // testbed configuration name
	Host string
	// Scheme is the URL scheme the app's string uses; Path what follows the
	// port.
	Scheme, Path string
}

// The four back ends.
var (
	Cache    = Backend{Bed: "redis-open", Host: "cache." + Domain, Scheme: "redis", Path: "/0"}
	Stock    = Backend{Bed: "memcached-open", Host: "stock." + Domain, Scheme: "memcached"}
	Receipts = Backend{Bed: "couchdb-party", Host: "receipts." + Domain, Scheme: "couchdb"}
	HRDB     = Backend{Bed: "mariadb-open", Host: "hr-db." + Domain, Scheme: "mysql", Path: "/people"}
)

// Backends lists them.
var Backends = []Backend{Cache, Stock, Receipts, HRDB}

// URL is the string an app holds for b on port.
func (b Backend) URL(port uint16) string {
	return fmt.Sprintf("%s://%s:%d%s", b.Scheme, b.Host, port, b.Path)
}

// App is one app of a fleet.
type App struct {
	Platform string // "android" or "ios"
	ID       string // package name or bundle id
	Name     string // the display name MDMs show
	Version  string // the version most devices run
	// Old is an older version some devices still run; no binary is given
	// for it, so a fleet scan lists it as not checked.
	Old string
	// Binary is set for the in-house apps the tests build a binary of
	// (Version's), naming the back ends it holds.
	Binary   bool
	Backends []Backend
	// On decides which devices (by number, from 1) run the app.
	On func(i int) bool
	// OldOn decides which of those run Old.
	OldOn func(i int) bool
}

// Device is one device of a fleet.
type Device struct {
	N         int // 1..50
	Platform  string
	Model     string
	OSVersion string
	// Owner is the index of its owner in People (-1: no owner).
	Owner int
}

// Person is a device owner (synthetic).
type Person struct{ First, Last string }

// Email is the person's address.
func (p Person) Email() string {
	return strings.ToLower(p.First + "." + p.Last + "@" + Domain)
}

// Username is the person's directory user name.
func (p Person) Username() string { return strings.ToLower(p.First[:1] + p.Last) }

// Fleet is one sample fleet.
type Fleet struct {
	Name    string
	Devices []Device
	Apps    []App
}

// Install is one app version on one device.
type Install struct {
	App     App
	Version string
}

// Installs lists what device d runs.
func (f Fleet) Installs(d Device) []Install {
	var out []Install
	for _, a := range f.Apps {
		if a.Platform != d.Platform || !a.On(d.N) {
			continue
		}
		v := a.Version
		if a.Old != "" && a.OldOn != nil && a.OldOn(d.N) {
			v = a.Old
		}
		out = append(out, Install{a, v})
	}
	return out
}

// Binaries lists the apps with binaries.
func (f Fleet) Binaries() []App {
	var out []App
	for _, a := range f.Apps {
		if a.Binary {
			out = append(out, a)
		}
	}
	return out
}

var first = []string{"Amelia", "Bruno", "Chiara", "Dmitri", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas",
	"Kemal", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tamar"}
var last = []string{"Adler", "Brandt"}

// People are the 40 owners: 45 of the 50 devices have an owner, so five
// people carry two devices.
var People = func() []Person {
	var p []Person
	for _, l := range last {
		for _, f := range first {
			p = append(p, Person{f, l})
		}
	}
	return p
}()

// ownerOf gives device n its owner: every tenth device (7, 17, ...) has
// none (a shared or spare device).
func ownerOf(n int) int {
	if n%10 == 7 {
		return -1
	}
	owned := n - 1 - (n+2)/10 // devices before n that have an owner
	return owned % len(People)
}

func every(k, r int) func(int) bool { return func(i int) bool { return i%k == r } }
func all(int) bool                  { return true }
func not(f func(int) bool) func(int) bool {
	return func(i int) bool { return !f(i) }
}
func either(fs ...func(int) bool) func(int) bool {
	return func(i int) bool {
		for _, f := range fs {
			if f(i) {
				return true
			}
		}
		return false
	}
}

// Mixed is the fleet of the Intune, Workspace ONE and generic samples.
var Mixed = Fleet{Name: "mixed", Devices: devices(func(n int) string {
	if n%5 == 1 || n%5 == 4 {
		return "ios"
	}
	return "android"
}), Apps: []App{
	{Platform: "android", ID: "com.acme.fieldsales", Name: "Acme Field Sales", Version: "4.2.0", Old: "4.1.0", OldOn: every(6, 0),
		Binary: true, Backends: []Backend{Cache}, On: all},
	{Platform: "android", ID: "com.acme.stockcheck", Name: "Acme Stock Check", Version: "2.7.1", Binary: true, Backends: []Backend{Stock}, On: not(every(3, 0))},
	{Platform: "android", ID: "com.acme.expenses", Name: "Acme Expenses", Version: "1.9.0", Binary: true, Backends: []Backend{Receipts},
		On: either(every(4, 1), every(4, 2))},
	{Platform: "ios", ID: "com.acme.fieldsales.ios", Name: "Acme Field Sales", Version: "4.2.0", Old: "4.1.1", OldOn: every(10, 4),
		Binary: true, Backends: []Backend{Cache, HRDB}, On: all},
	{Platform: "ios", ID: "com.acme.people", Name: "Acme People", Version: "3.0.2", Binary: true, Backends: []Backend{HRDB}, On: not(every(3, 2))},
	{Platform: "android", ID: "com.acme.timesheet", Name: "Acme Timesheet", Version: "1.4.0", On: every(5, 2)},
	{Platform: "ios", ID: "com.acme.timesheet.ios", Name: "Acme Timesheet", Version: "1.4.0", On: every(4, 3)},
	{Platform: "android", ID: "com.microsoft.teams", Name: "Microsoft Teams", Version: "1416/1.0.0.2024", On: all},
	{Platform: "android", ID: "com.microsoft.office.outlook", Name: "Microsoft Outlook", Version: "4.2430.1", On: every(2, 0)},
	{Platform: "android", ID: "com.Slack", Name: "Slack", Version: "24.08.10.0", On: every(3, 1)},
	{Platform: "android", ID: "com.google.android.apps.authenticator2", Name: "Google Authenticator", Version: "7.0", On: every(4, 0)},
	{Platform: "android", ID: "com.whatsapp", Name: "WhatsApp", Version: "2.24.17.78", On: either(every(5, 3), every(5, 0))},
	{Platform: "android", ID: "us.zoom.videomeetings", Name: "Zoom Workplace", Version: "6.1.10", On: every(7, 0)},
	{Platform: "android", ID: "com.adobe.reader", Name: "Adobe Acrobat Reader", Version: "24.7.0", On: every(8, 3)},
	{Platform: "ios", ID: "com.microsoft.skype.teams", Name: "Microsoft Teams", Version: "6.18.1", On: all},
	{Platform: "ios", ID: "com.microsoft.Office.Outlook", Name: "Microsoft Outlook", Version: "4.2431.0", On: every(2, 1)},
	{Platform: "ios", ID: "com.tinyspeck.chatlyio", Name: "Slack", Version: "24.08.20", On: every(3, 0)},
	{Platform: "ios", ID: "com.google.Authenticator", Name: "Google Authenticator", Version: "4.2.1", On: every(4, 1)},
	{Platform: "ios", ID: "net.whatsapp.WhatsApp", Name: "WhatsApp", Version: "24.17.78", On: every(5, 4)},
	{Platform: "ios", ID: "us.zoom.videomeetings.ios", Name: "Zoom Workplace", Version: "6.1.11", On: every(6, 1)},
}}

// Apple is the fleet of the Jamf Pro samples: iPhones and iPads only.
var Apple = Fleet{Name: "apple", Devices: devices(func(int) string { return "ios" }), Apps: []App{
	{Platform: "ios", ID: "com.acme.fieldsales.ios", Name: "Acme Field Sales", Version: "4.2.0", Old: "4.1.1", OldOn: every(10, 4),
		Binary: true, Backends: []Backend{Cache, HRDB}, On: all},
	{Platform: "ios", ID: "com.acme.people", Name: "Acme People", Version: "3.0.2", Binary: true, Backends: []Backend{HRDB}, On: not(every(3, 2))},
	{Platform: "ios", ID: "com.acme.stockcheck.ios", Name: "Acme Stock Check", Version: "2.7.1", Binary: true, Backends: []Backend{Stock}, On: not(every(3, 0))},
	{Platform: "ios", ID: "com.acme.expenses.ios", Name: "Acme Expenses", Version: "1.9.0", Binary: true, Backends: []Backend{Receipts},
		On: either(every(4, 1), every(4, 2))},
	{Platform: "ios", ID: "com.acme.visitors", Name: "Acme Visitors", Version: "1.1.0", Binary: true, Backends: []Backend{Cache}, On: every(5, 0)},
	{Platform: "ios", ID: "com.acme.timesheet.ios", Name: "Acme Timesheet", Version: "1.4.0", On: every(4, 3)},
	{Platform: "ios", ID: "com.microsoft.skype.teams", Name: "Microsoft Teams", Version: "6.18.1", On: all},
	{Platform: "ios", ID: "com.microsoft.Office.Outlook", Name: "Microsoft Outlook", Version: "4.2431.0", On: every(2, 1)},
	{Platform: "ios", ID: "com.microsoft.Office.Word", Name: "Microsoft Word", Version: "2.88", On: every(3, 1)},
	{Platform: "ios", ID: "com.microsoft.Office.Excel", Name: "Microsoft Excel", Version: "2.88", On: every(3, 2)},
	{Platform: "ios", ID: "com.microsoft.azureauthenticator", Name: "Authenticator", Version: "6.8.14", On: every(2, 0)},
	{Platform: "ios", ID: "com.tinyspeck.chatlyio", Name: "Slack", Version: "24.08.20", On: every(3, 0)},
	{Platform: "ios", ID: "com.google.Authenticator", Name: "Google Authenticator", Version: "4.2.1", On: every(4, 1)},
	{Platform: "ios", ID: "com.google.chrome.ios", Name: "Google Chrome", Version: "128.0.6613.98", On: every(4, 2)},
	{Platform: "ios", ID: "net.whatsapp.WhatsApp", Name: "WhatsApp", Version: "24.17.78", On: every(5, 4)},
	{Platform: "ios", ID: "us.zoom.videomeetings", Name: "Zoom Workplace", Version: "6.1.11", On: every(6, 1)},
	{Platform: "ios", ID: "com.getdropbox.Dropbox", Name: "Dropbox", Version: "393.2", On: every(7, 3)},
	{Platform: "ios", ID: "com.salesforce.chatter", Name: "Salesforce", Version: "252.020", On: every(7, 5)},
	{Platform: "ios", ID: "com.linkedin.LinkedIn", Name: "LinkedIn", Version: "9.30.1743", On: every(8, 6)},
	{Platform: "ios", ID: "net.box.BoxNet", Name: "Box", Version: "5.14.1", On: every(9, 1)},
}}

var models = map[string][]string{
	"android": {"Pixel 8", "Pixel 7a", "Galaxy S24", "Galaxy A54", "ThinkPhone"},
	"ios":     {"iPhone 15", "iPhone 14", "iPhone 13", "iPad Air (5th generation)", "iPhone SE (3rd generation)"},
}
var osVersions = map[string][]string{"android": {"14", "13", "14", "12", "15"}, "ios": {"17.6.1", "17.5", "16.7.10", "17.6.1", "18.0"}}

func devices(platform func(int) string) []Device {
	var out []Device
	for n := 1; n <= 50; n++ {
		p := platform(n)
		out = append(out, Device{N: n, Platform: p, Model: models[p][n%5], OSVersion: osVersions[p][(n/5)%5], Owner: ownerOf(n)})
	}
	return out
}
