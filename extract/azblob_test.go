package extract

import (
	"testing"

	"github.com/gownscan/gown"
)

// TestAzureBlobURL: a blob URL names its container by its first path
// segment, which becomes the endpoint's (and the target's) path; the
// account's root names no container and no store; a SAS token is cut.
func TestAzureBlobURL(t *testing.T) {
	for _, c := range []struct{ in, store, path, value string }{
		{"https://shopdata.blob.core.windows.net/photos/2024/a.jpg?sv=2024&sig=abc", "azblob", "/photos", "https://shopdata.blob.core.windows.net/photos/2024/a.jpg"},
		{"https://shopdata.blob.core.windows.net/backups", "azblob", "/backups", "https://shopdata.blob.core.windows.net/backups"},
		{"https://shopdata.blob.core.windows.net/", "", "", "https://shopdata.blob.core.windows.net/"},
		{"http://shopdata.blob.core.windows.net/photos", "", "", "http://shopdata.blob.core.windows.net/photos"},
	} {
		ep := &gown.Endpoint{Kind: gown.KindURL}
		parseURL(ep, c.in, catalog)
		if ep.Store != c.store || ep.Path != c.path || ep.Value != c.value {
			t.Errorf("%s: store %q path %q value %q", c.in, ep.Store, ep.Path, ep.Value)
		}
		ep.Party = gown.PartyFirst
		ts := ep.Targets(nil)
		if c.store != "" && (len(ts) != 1 || ts[0].Path != c.path || ts[0].Hint != "azblob") {
			t.Errorf("%s: targets %+v", c.in, ts)
		}
	}
}
