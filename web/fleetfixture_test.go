package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/extract"
	"github.com/gownscan/gown/fleet"
	"github.com/gownscan/gown/internal/fleetsample"
	"github.com/gownscan/gown/internal/testbed"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/probe/all"
	"github.com/gownscan/gown/scan"
	"github.com/gownscan/gown/store/sqlite"
	"github.com/gownscan/gown/target"
)

// buildFleetFixture fills a second store with a fleet: the sample Intune
// export imported, and one fleet scan of the sample's five binaries run by
// the real pipeline against the bed's open Redis, memcached, CouchDB and
// MariaDB (fleet.Scan, as gown fleet scan runs it).
func buildFleetFixture(ctx context.Context, bed *testbed.Bed) (string, error) {
	path := filepath.Join(tmpRoot, "fleet.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return "", err
	}
	defer st.Close()
	ids := map[string]string{}
	for _, a := range fleetsample.Mixed.Apps {
		ids[a.Platform+"/"+a.Name] = a.ID
	}
	export := filepath.Join(tmpRoot, "intune.csv")
	if err := os.WriteFile(export, fleetsample.IntuneCSV(fleetsample.Mixed), 0o644); err != nil {
		return "", err
	}
	if _, err := fleet.Import(ctx, st, []string{export}, fleet.ReadConfig{AppIDs: ids}); err != nil {
		return "", err
	}
	res := target.NewResolver()
	res.NoDNS = true
	ports := fleetsample.Ports{}
	for _, b := range fleetsample.Backends {
		s := bed.Get(b.Bed)
		if s == nil {
			return "", fmt.Errorf("no %s in the bed", b.Bed)
		}
		ports[b.Bed] = s.Addr.Port()
		if err := res.Override(b.Host + "=" + s.Addr.Addr().String()); err != nil {
			return "", err
		}
	}
	apps := filepath.Join(tmpRoot, "fleet-apps")
	os.MkdirAll(apps, 0o755)
	files, err := fleetsample.WriteBinaries(fleetsample.Mixed, apps, ports)
	if err != nil {
		return "", err
	}
	tcfg := target.Config{Catalog: all.Catalog(), Ports: all.Registry().Ports(), Resolve: res, Origin: "app"}
	if err := tcfg.Validate(); err != nil {
		return "", err
	}
	x, err := extract.New(extract.Config{Catalog: all.Catalog()})
	if err != nil {
		return "", err
	}
	_, err = fleet.Scan(ctx, fleet.ScanConfig{Store: st, Targets: &tcfg, Extract: x, Files: files,
		Scan: scan.Config{Registry: all.Registry(), Probe: probe.Config{Workers: 8, Timeout: 20 * time.Second, Sample: probe.DefaultSample,
			Dialer: probe.DialerConfig{Source: testbed.Source}}, Meta: gown.ScanMeta{Command: "fleet", Args: []string{"fleet-apps"}, Version: "test"}}})
	return path, err
}
