package main

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"strconv"

	"github.com/gownscan/gown/extract/android/androidtest"
)

// Writes the APK TestAppScanStoredThenReported builds (partyAPK), for a demo run.
func main() {
	port, _ := strconv.Atoi(os.Args[2])
	man := androidtest.XML(androidtest.Node{Name: "manifest", Attrs: []androidtest.Attr{{Name: "package", Str: "com.gown.party"}},
		Children: []androidtest.Node{{Name: "uses-sdk", Attrs: []androidtest.Attr{{Name: "targetSdkVersion", Type: 0x10, Data: 26, ResID: 0x01010270}}}}})
	dex := androidtest.Dex([]string{"http://api.party-gown.net/v1", "mongodb://reports.faraway-hosting.net:27017/app",
		"https://www.googleapis.com/auth/userinfo.email", "http://10.0.2.2:8080/api", "jdbc:mysql://db.party.corp:3306/app"})
	bundle := fmt.Sprintf(`var HOST="cache.party-gown.net",PORT=%d;__d(function(){const u="redis://"+HOST+":"+PORT+"/0";connect(u)});`, port)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range []struct {
		name string
		data []byte
	}{{"AndroidManifest.xml", man}, {"classes.dex", dex}, {"assets/index.android.bundle", []byte(bundle)}} {
		w, _ := zw.Create(e.name)
		w.Write(e.data)
	}
	zw.Close()
	os.WriteFile(os.Args[1], buf.Bytes(), 0o644)
}
