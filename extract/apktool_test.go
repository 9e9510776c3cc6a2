package extract

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/gownscan/gown/internal/testbed"
)

// An APK built and signed by the real Android tools Debian ships: apktool
// compiles the manifest, resources and smali; zipalign and apksigner sign
// it. Endpoints are planted in the manifest, the resource table, the network
// security config, the dex and the assets.

var apktoolProject = map[string]string{
	"apktool.yml": `version: 2.7.0
apkFileName: planted.apk
isFrameworkApk: false
usesFramework:
  ids:
  - 1
sdkInfo:
  minSdkVersion: '21'
  targetSdkVersion: '30'
packageInfo:
  forcedPackageId: '127'
versionInfo:
  versionCode: '1'
  versionName: '1.0'
compressionType: false
`,
	"AndroidManifest.xml": `<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="com.gown.planted">
  <application android:label="Planted" android:networkSecurityConfig="@xml/network_security_config">
    <meta-data android:name="com.gown.API_URL" android:value="https://meta.apktool-planted.net/api"/>
    <activity android:name="com.gown.planted.Main" android:exported="true"/>
  </application>
</manifest>
`,
	"res/values/strings.xml": `<?xml version="1.0" encoding="utf-8"?>
<resources>
  <string name="firebase_database_url">https://apktool-planted-1.firebaseio.com</string>
  <string name="support_url">https://arsc.apktool-planted.net/help</string>
</resources>
`,
	"res/xml/network_security_config.xml": `<?xml version="1.0" encoding="utf-8"?>
<network-security-config>
  <base-config cleartextTrafficPermitted="false"/>
  <domain-config cleartextTrafficPermitted="true">
    <domain includeSubdomains="true">apktool-planted.net</domain>
  </domain-config>
</network-security-config>
`,
	"assets/config.json": `{"search":"search.apktool-planted.net:9200"}`,
	"smali/com/gown/planted/Main.smali": `.class public Lcom/gown/planted/Main;
.super Landroid/app/Activity;

.method public constructor <init>()V
    .registers 2
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    const-string v0, "mongodb://mongo.apktool-planted.net:27017/shop"
    const-string v0, "http://dex.apktool-planted.net/login"
    return-void
.end method
`,
}

// needTools finds the Android tools: installed with apt-get in CI, where
// one still missing fails the test; skipped for when missing elsewhere.
func needTools(t *testing.T) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		for _, p := range [][]string{{"apktool", "apktool"}, {"zipalign", "zipalign"}, {"apksigner", "apksigner"}} {
			if err := testbed.Ensure(t.Context(), os.Stderr, p[0], p[1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, b := range []string{"apktool", "zipalign", "apksigner", "keytool"} {
		if _, err := exec.LookPath(b); err != nil {
			// keytool comes with the Java apksigner needs, not from Ensure
			// above: a CI machine without it must fail, not skip.
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not installed in CI: %v", b, err)
			}
			t.Skipf("%s not installed (apt-get install -y apktool zipalign apksigner)", b)
		}
	}
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestApktoolBuiltAPK(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the Android build tools")
	}
	needTools(t)
	dir := t.TempDir()
	for name, text := range apktoolProject {
		p := filepath.Join(dir, "proj", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, dir, "apktool", "b", "proj", "-o", "unsigned.apk")
	run(t, dir, "keytool", "-genkeypair", "-keystore", "ks.p12", "-storetype", "PKCS12", "-storepass", "gownpass",
		"-keypass", "gownpass", "-alias", "k", "-keyalg", "RSA", "-keysize", "2048", "-validity", "30", "-dname", "CN=gown", "-noprompt")
	run(t, dir, "zipalign", "-f", "4", "unsigned.apk", "aligned.apk")
	run(t, dir, "apksigner", "sign", "--ks", "ks.p12", "--ks-pass", "pass:gownpass", "--out", "signed.apk", "aligned.apk")
	certs := run(t, dir, "apksigner", "verify", "--print-certs", "signed.apk")

	b, err := os.ReadFile(filepath.Join(dir, "signed.apk"))
	if err != nil {
		t.Fatal(err)
	}
	app := readApp(t, b, "signed.apk")
	if len(app.Errors) > 0 {
		t.Errorf("errors: %q", app.Errors)
	}
	m := regexp.MustCompile(`certificate SHA-256 digest: ([0-9a-f]{64})`).FindStringSubmatch(certs)
	if m == nil || app.Signer != m[1] {
		t.Errorf("signer %s, apksigner says:\n%s", app.Signer, certs)
	}
	if app.ID != "com.gown.planted" || app.Version != "1.0" || app.TargetSDK != 30 {
		t.Errorf("metadata: id %s version %s sdk %d", app.ID, app.Version, app.TargetSDK)
	}
	want := []planted{
		{"manifest meta-data", "AndroidManifest.xml", "https://meta.apktool-planted.net/api"},
		{"resources.arsc", "resources.arsc", "https://apktool-planted-1.firebaseio.com"},
		{"resources.arsc", "resources.arsc", "https://arsc.apktool-planted.net/help"},
		{"dex", "classes.dex", "mongodb://mongo.apktool-planted.net:27017/shop"},
		{"dex", "classes.dex", "http://dex.apktool-planted.net/login"},
		{"assets", "assets/config.json", "search.apktool-planted.net:9200"},
	}
	rows, extra := recall(t, app, want)
	first := 0
	for _, e := range app.Endpoints {
		if e.FirstParty {
			first++
		}
	}
	logRecall(t, rows, extra, first)
	if len(app.Cleartext) != 1 || len(app.Cleartext[0].Endpoints) != 1 || app.Cleartext[0].Endpoints[0] != "http://dex.apktool-planted.net/login" {
		t.Errorf("cleartext (network security config via manifest + resource table) = %+v", app.Cleartext)
	}
	t.Logf("cleartext: %+v", app.Cleartext)
}
