package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gownscan/gown"
)

// The fleet view: back ends → the app versions naming them → the devices
// running those versions, as a fleet scan (gown fleet scan) found them. It
// reads gown.FleetStore's report, which holds owners masked only.

// maxFleetDevices caps the device rows a page lists; the JSON API has them
// all, and the summary counts every one.
const maxFleetDevices = 500

// noFleet says why a store has no fleet view.
const noFleet = "This results store holds no fleet scan yet: import an MDM inventory with gown fleet import, " +
	"then run gown fleet scan over the inventory's app binaries with the same --db."

// fleetView is what the fleet page and /api/fleet show.
type fleetView struct {
	Available bool          `json:"available"`
	Reason    string        `json:"reason,omitempty"`
	Scans     []gown.ScanID `json:"scans,omitempty"`
	*gown.FleetReport
	// More counts the devices the page leaves out (not in the API).
	More int `json:"-"`
}

// fleetReport reads the fleet view of the scan the request names (?scan=N),
// the newest fleet scan by default.
func (s *Server) fleetReport(ctx context.Context, r *http.Request) (fleetView, error) {
	fs, ok := s.st.(gown.FleetStore)
	if !ok {
		return fleetView{Reason: "This results store cannot keep a fleet."}, nil
	}
	scans, err := fs.FleetScans(ctx)
	if err != nil {
		return fleetView{}, err
	}
	if len(scans) == 0 {
		return fleetView{Reason: noFleet}, nil
	}
	id := scans[0]
	if v := r.URL.Query().Get("scan"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fleetView{}, badf("%q is not a scan id", v)
		}
		id = gown.ScanID(n)
		if !containsID(scans, id) {
			return fleetView{}, errors.Join(errNotFound, errors.New("that scan is not a fleet scan"))
		}
	}
	rep, err := fs.FleetReport(ctx, id)
	if err != nil {
		return fleetView{}, err
	}
	return fleetView{Available: true, Scans: scans, FleetReport: &rep}, nil
}

func containsID(ids []gown.ScanID, id gown.ScanID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (s *Server) fleet(w http.ResponseWriter, r *http.Request) error {
	v, err := s.fleetReport(r.Context(), r)
	if err != nil {
		return err
	}
	if v.Available && len(v.Devices) > maxFleetDevices {
		rep := *v.FleetReport
		v.More = len(rep.Devices) - maxFleetDevices
		rep.Devices = rep.Devices[:maxFleetDevices]
		v.FleetReport = &rep
	}
	return s.render(w, http.StatusOK, "fleet", view{Title: "Fleet", Nav: "fleet", Data: v})
}

func (s *Server) apiFleet(r *http.Request) (any, error) {
	return s.fleetReport(r.Context(), r)
}
