package fleet

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds inventory readers arbitrary files: they return an
// inventory or an error, never panic, and every device they return has an
// id.
func FuzzRead(f *testing.F) {
	names, _ := filepath.Glob(filepath.Join("testdata", "sample", "*"))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 2048)])
	}
	f.Add([]byte("device_id,app_id\n\"a,b\n"))
	f.Add([]byte(`{"value": [{"id": 1}]}`))
	f.Add([]byte(`[{"Udid": "x", "DeviceApps": [1]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Read("fuzz", data, ReadConfig{AppIDs: map[string]string{"A": "com.a"}})
		if err != nil {
			return
		}
		for _, d := range p.devices {
			if d.device == "" {
				t.Fatalf("a device without an id from %q", data)
			}
		}
	})
}
