package android

import (
	"strconv"
	"strings"
)

// Manifest is what extraction needs from AndroidManifest.xml.
type Manifest struct {
	Package     string
	VersionName string
	TargetSDK   int
	// Cleartext is the application's usesCleartextTraffic: nil when absent.
	Cleartext *bool
	// NetworkSecurityConfig is the resource id of the config file; 0 if none.
	NetworkSecurityConfig uint32
	// MetaData lists <meta-data> name/value pairs: typed evidence such as
	// com.google.android.geo.API_KEY or a back-end URL.
	MetaData []Attr
	// Hosts lists the hosts of intent-filter <data android:host>: the
	// app's deep-link and App Links domains, its own web sites.
	Hosts []string
}

// ReadManifest pulls the manifest's facts from a decoded document.
func ReadManifest(x *XML) *Manifest {
	m := &Manifest{}
	for i := range x.Elements {
		e := &x.Elements[i]
		switch e.Name {
		case "manifest":
			m.Package = attrValue(e, "package")
			m.VersionName = attrValue(e, "versionName")
		case "uses-sdk":
			m.TargetSDK, _ = strconv.Atoi(attrValue(e, "targetSdkVersion"))
			if m.TargetSDK == 0 { // targetSdk defaults to minSdk
				m.TargetSDK, _ = strconv.Atoi(attrValue(e, "minSdkVersion"))
			}
		case "application":
			if a, ok := e.Attr("usesCleartextTraffic"); ok && a.Type == TypeBool {
				v := a.Data != 0
				m.Cleartext = &v
			}
			if a, ok := e.Attr("networkSecurityConfig"); ok && a.Type == TypeReference {
				m.NetworkSecurityConfig = a.Data
			}
		case "data":
			if h := strings.ToLower(strings.TrimSpace(attrValue(e, "host"))); h != "" && len(m.Hosts) < 64 {
				m.Hosts = append(m.Hosts, h)
			}
		case "meta-data":
			name := attrValue(e, "name")
			if v, ok := e.Attr("value"); ok {
				v.Name = name
				m.MetaData = append(m.MetaData, v)
			}
		}
	}
	return m
}

func attrValue(e *Element, name string) string {
	a, _ := e.Attr(name)
	return a.Value
}

// DomainRule is one domain-config entry of a network security config.
type DomainRule struct {
	Domain     string
	Subdomains bool
	Cleartext  bool
}

// NetworkSecurity is the clear-text part of a network security config.
type NetworkSecurity struct {
	// Base is base-config's cleartextTrafficPermitted; nil when not set.
	Base    *bool
	Domains []DomainRule
}

// ReadNetworkSecurity reads a network security config document. A
// domain-config without cleartextTrafficPermitted inherits from its
// enclosing domain-config, then from the base.
func ReadNetworkSecurity(x *XML) *NetworkSecurity {
	ns := &NetworkSecurity{}
	ct := make([]*bool, len(x.Elements)) // each element's effective setting
	for i := range x.Elements {
		e := &x.Elements[i]
		if e.Parent >= 0 && e.Parent < i {
			ct[i] = ct[e.Parent]
		}
		if a, ok := e.Attr("cleartextTrafficPermitted"); ok && (e.Name == "base-config" || e.Name == "domain-config") {
			v := a.Value == "true"
			ct[i] = &v
		}
		switch e.Name {
		case "base-config":
			ns.Base = ct[i]
		case "domain":
			allowed := ns.Base != nil && *ns.Base
			if ct[i] != nil {
				allowed = *ct[i]
			}
			ns.Domains = append(ns.Domains, DomainRule{
				Domain:     strings.ToLower(strings.TrimSpace(e.Text)),
				Subdomains: attrValue(e, "includeSubdomains") == "true",
				Cleartext:  allowed,
			})
		}
	}
	return ns
}
