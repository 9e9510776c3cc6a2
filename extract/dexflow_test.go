package extract

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestFlowLargeDex: a dex past 1 MiB (android/testdata/dexflow/Api.smali
// and a method holding a 1.2 MB literal, assembled by smali) streams as
// it inflates and its methods are not followed, unless FlowLargeDex (gown
// app --deep-dex) holds it whole: then the endpoints its methods build
// come out too.
func TestFlowLargeDex(t *testing.T) {
	smali, err := exec.LookPath("smali")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("smali not installed in CI: %v", err)
		}
		t.Skipf("smali not installed: %v", err)
	}
	src, err := os.ReadFile(filepath.Join("android", "testdata", "dexflow", "Api.smali"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	big := string(src) + "\n.method public static filler()Ljava/lang/String;\n    .registers 1\n    const-string v0, \"" +
		strings.Repeat("filler ", 180000) + "\"\n    return-object v0\n.end method\n"
	if err := os.WriteFile(filepath.Join(dir, "Big.smali"), []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "classes.dex")
	if msg, err := exec.CommandContext(t.Context(), smali, "assemble", "-o", out, filepath.Join(dir, "Big.smali")).CombinedOutput(); err != nil {
		t.Fatalf("smali: %v\n%s", err, msg)
	}
	dex, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(dex) < dexStreamMin {
		t.Fatalf("dex of %d bytes is under the streaming size", len(dex))
	}
	apk := zipOf(t, entry{"AndroidManifest.xml", plantedManifest("com.northwind.big", false), false}, entry{"classes.dex", dex, true}) // stored: the filler deflates past the ratio cap
	built := []string{"redis://cache.northwind.com:6379", "http://search.northwind.com:9200/_search", "mongodb://mongo.northwind.com:27017/app"}
	for _, deep := range []bool{false, true} {
		x, err := New(Config{Catalog: catalog, FlowLargeDex: deep})
		if err != nil {
			t.Fatal(err)
		}
		app := x.Read(context.Background(), bytes.NewReader(apk), int64(len(apk)), "big.apk")
		if len(app.Errors) > 0 {
			t.Errorf("errors %q", app.Errors)
		}
		var got []string
		for _, e := range app.Endpoints {
			got = append(got, e.Value)
		}
		for _, w := range built {
			if slices.Contains(got, w) != deep {
				t.Errorf("FlowLargeDex %t: %s found %t (endpoints %q)", deep, w, !deep, got)
			}
		}
		if !slices.Contains(got, "http://search.northwind.com") {
			t.Errorf("FlowLargeDex %t: the string table's literal is missing: %q", deep, got)
		}
	}
}
