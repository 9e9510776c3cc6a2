package extract

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"path"
	"strings"

	"github.com/gownscan/gown"
)

// Hybrid apps (Capacitor, Cordova) name their own hosts in their config:
// the host the web view serves the app from and the hosts it may navigate
// to or reach. These tie hosts to the app as a network security config's
// domains do.

// maxConfig bounds a hybrid config read for its identity facts.
const maxConfig = 1 << 20

// hybridConfig reads capacitor.config.json and Cordova's text config.xml
// (iOS; Android compiles it to res/xml/config.xml, read by xmlDoc).
func (u *unit) hybridConfig(b []byte, src gown.Source) {
	if len(b) > maxConfig {
		return
	}
	switch path.Base(src.Entry) {
	case "capacitor.config.json":
		var c struct {
			AppID  string `json:"appId"`
			Server struct {
				Hostname        string   `json:"hostname"`
				AllowNavigation []string `json:"allowNavigation"`
			} `json:"server"`
		}
		if json.Unmarshal(b, &c) != nil {
			return
		}
		var facts []ownFact
		if c.AppID != "" {
			facts = append(facts, ownFact{text: c.AppID, why: "capacitor appId", words: true})
		}
		if c.Server.Hostname != "" && c.Server.Hostname != "localhost" {
			facts = append(facts, ownFact{text: c.Server.Hostname, why: "capacitor server.hostname"})
		}
		for _, h := range c.Server.AllowNavigation[:min(len(c.Server.AllowNavigation), maxIdentity)] {
			facts = append(facts, ownFact{text: hostOf(h), why: "capacitor allowNavigation"})
		}
		u.own(facts)
	case "config.xml":
		if !bytes.Contains(b, []byte("<widget")) {
			return
		}
		d := xml.NewDecoder(bytes.NewReader(b))
		var facts []ownFact
		for n := 0; n < 10000; n++ {
			tok, err := d.Token()
			if err != nil {
				break
			}
			if se, ok := tok.(xml.StartElement); ok {
				for _, a := range se.Attr {
					if a.Name.Local == cordovaAttr[se.Name.Local] {
						facts = cordovaFact(facts, se.Name.Local, a.Value)
					}
				}
			}
		}
		u.own(facts)
	}
}

// cordovaAttr names the attribute of each Cordova config element that
// holds the app's id or one of its hosts.
var cordovaAttr = map[string]string{"widget": "id", "access": "origin", "allow-navigation": "href"}

// cordovaFact adds what one Cordova config element says about the app.
func cordovaFact(facts []ownFact, elem, v string) []ownFact {
	if v == "" || len(facts) >= maxIdentity {
		return facts
	}
	if elem == "widget" {
		return append(facts, ownFact{text: v, why: "cordova widget id", words: true})
	}
	if h := hostOf(v); h != "" {
		return append(facts, ownFact{text: h, why: "cordova " + elem})
	}
	return facts
}

// hostOf is the host of a URL or origin pattern ("https://*.shop.net/*",
// "shop.net"), "" for a bare wildcard.
func hostOf(v string) string {
	v = strings.TrimSpace(v)
	if strings.Contains(v, "://") {
		u, err := url.Parse(strings.ReplaceAll(v, "*", "x-wildcard"))
		if err != nil {
			return ""
		}
		v = strings.ReplaceAll(u.Hostname(), "x-wildcard", "*")
	}
	v = strings.TrimPrefix(v, "*.")
	if strings.Contains(v, "*") || strings.ContainsAny(v, "/ ") {
		return ""
	}
	return strings.ToLower(v)
}

// own records a hybrid app's identity facts.
func (u *unit) own(facts []ownFact) {
	if len(facts) == 0 {
		return
	}
	u.effect(func(s *appScan) {
		s.own = append(s.own, facts[:min(len(facts), maxIdentity-min(len(s.own), maxIdentity))]...)
	})
}
