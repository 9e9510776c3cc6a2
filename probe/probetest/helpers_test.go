package probetest

import "github.com/gownscan/gown"

func items(r *gown.Result) uint64 {
	if r.Inventory == nil {
		return 0
	}
	return r.Inventory.Items
}
