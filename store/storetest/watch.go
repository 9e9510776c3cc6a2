package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gownscan/gown"
)

// testWatchState walks a watch through its life as the store keeps it:
// created, updated by name, runs numbered in order, a run's alerts
// recorded once with a pending delivery per sink, deliveries updated, and
// what a restarted watch reads back.
func testWatchState(t *testing.T, s gown.Store) {
	ws, ok := s.(gown.WatchStore)
	if !ok {
		t.Fatalf("%T is not a gown.WatchStore", s)
	}
	ctx := t.Context()
	spec := gown.WatchSpec{Name: "nightly", Command: "scan", Args: []string{"10.0.0.0/24", "-p", "6379"}, Schedule: "@every 1h0m0s"}
	w, err := ws.EnsureWatch(ctx, spec)
	if err != nil || w.ID == 0 || w.Created.IsZero() || !slices.Equal(w.Args, spec.Args) {
		t.Fatalf("EnsureWatch: %+v, %v", w, err)
	}
	spec.Schedule = "0 3 * * *"
	w2, err := ws.EnsureWatch(ctx, spec)
	if err != nil || w2.ID != w.ID || w2.Schedule != "0 3 * * *" {
		t.Errorf("EnsureWatch again: %+v, %v: want the same watch, its schedule updated", w2, err)
	}
	if all, err := ws.Watches(ctx); err != nil || len(all) != 1 {
		t.Errorf("Watches: %+v, %v", all, err)
	}
	due := time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC)
	r1, err := ws.StartRun(ctx, w.ID, due)
	if err != nil || r1.Seq != 1 || r1.State != gown.RunRunning {
		t.Fatalf("StartRun: %+v, %v", r1, err)
	}
	scan := begin(t, s)
	if err := ws.SetRunScan(ctx, w.ID, r1.Seq, scan); err != nil {
		t.Fatal(err)
	}
	alerts := []gown.Alert{
		{ID: "a1", Kind: "new", Severity: gown.SeverityHigh, FindingID: "f1", Payload: []byte(`{"kind":"new"}`)},
		{ID: "a2", Kind: "wiped", Severity: gown.SeverityCritical, FindingID: "f2", Payload: []byte(`{"kind":"wiped"}`)},
	}
	r1.Scan = scan
	sinks := []string{"sinkA", "sinkB"}
	if err := ws.FinishRun(ctx, r1, alerts, sinks); err != nil {
		t.Fatal(err)
	}
	if err := ws.FinishRun(ctx, r1, alerts, sinks); err != nil { // a second finish adds nothing
		t.Fatal(err)
	}
	pending := deliveries(t, ws, w.ID, gown.DeliveryPending)
	if want := []string{"a1>sinkA pending 0", "a1>sinkB pending 0", "a2>sinkA pending 0", "a2>sinkB pending 0"}; !slices.Equal(pending, want) {
		t.Errorf("pending deliveries:\n got %q\nwant %q", pending, want)
	}
	if err := ws.RecordDelivery(ctx, "a1", "sinkA", gown.DeliveryDelivered, 1, ""); err != nil {
		t.Fatal(err)
	}
	if err := ws.RecordDelivery(ctx, "a2", "sinkB", gown.DeliveryFailed, 5, "503 Service Unavailable"); err != nil {
		t.Fatal(err)
	}
	if err := ws.RecordDelivery(ctx, "nope", "sinkA", gown.DeliveryDelivered, 1, ""); err == nil {
		t.Error("RecordDelivery of an unknown alert succeeded")
	}
	if got := deliveries(t, ws, w.ID, gown.DeliveryFailed); !slices.Equal(got, []string{"a2>sinkB failed 5"}) {
		t.Errorf("failed deliveries: %q", got)
	}
	var payload string
	ws.Deliveries(ctx, w.ID, []string{gown.DeliveryFailed}, func(d gown.Delivery) error {
		payload = string(d.Alert.Payload) + " " + d.LastError + " " + d.Alert.Kind
		return nil
	})
	if payload != `{"kind":"wiped"} 503 Service Unavailable wiped` {
		t.Errorf("a failed delivery reads back as %q", payload)
	}
	// A second run that fails, a third left running (the watch killed):
	// a restarted watch reads them newest first.
	r2, _ := ws.StartRun(ctx, w.ID, due.Add(24*time.Hour))
	if err := ws.FailRun(ctx, w.ID, r2.Seq, "scan: no targets"); err != nil {
		t.Fatal(err)
	}
	r3, _ := ws.StartRun(ctx, w.ID, due.Add(48*time.Hour))
	var runs []string
	err = ws.WatchRuns(ctx, w.ID, func(r gown.WatchRun) error {
		runs = append(runs, fmt.Sprintf("%d %s %s scan=%d %s", r.Seq, r.Due.Format("01-02"), r.State, r.Scan, r.Error))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"3 01-07 running scan=0 ", "2 01-06 failed scan=0 scan: no targets", fmt.Sprintf("1 01-05 done scan=%d ", scan)}
	if r3.Seq != 3 || !slices.Equal(runs, want) {
		t.Errorf("runs:\n got %q\nwant %q", runs, want)
	}
}

func deliveries(t *testing.T, ws gown.WatchStore, watch int64, states ...string) []string {
	t.Helper()
	var out []string
	err := ws.Deliveries(t.Context(), watch, states, func(d gown.Delivery) error {
		out = append(out, fmt.Sprintf("%s>%s %s %d", d.Alert.ID, d.Sink, d.State, d.Attempts))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
