package android

import "github.com/gownscan/gown/extract/android/androidtest"

// protoManifestDoc is a manifest as bundletool stores it in an AAB.
func protoManifestDoc() []byte {
	return androidtest.ProtoXML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{
		{Name: "package", Str: "com.example.bundle"}, {Name: "versionName", Str: "7.0"},
	}, Children: []androidtest.Node{
		{Name: "uses-sdk", Attrs: []androidtest.Attr{{Name: "targetSdkVersion", Type: TypeIntDec, Data: 34}}},
		{Name: "application", Attrs: []androidtest.Attr{
			{Name: "usesCleartextTraffic", Type: TypeBool, Data: 1},
			{Name: "networkSecurityConfig", Type: TypeReference, Data: 0x7f150001},
		}, Children: []androidtest.Node{{Name: "meta-data", Attrs: []androidtest.Attr{
			{Name: "name", Str: "api"}, {Name: "value", Str: "https://meta.bundle.example.net"}}}}},
	}})
}
