package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/internal/testbed"
)

// TestAppProbesPlantedBroker is the whole flow for an MQTT broker an app
// names: an APK whose strings hold mqtt://telemetry.fleet-gown.net:PORT, the
// name mapped by --resolve to the test bed's mqtt-open (a real mosquitto
// with planted retained messages and a live location stream), and gown app
// reports it open with the planted topics, the location stream's geo
// class, and nothing but read-side packets in mosquitto's own log.
func TestAppProbesPlantedBroker(t *testing.T) {
	s := testbed.Require(t, "mqtt-open").Get("mqtt-open")
	mark := s.LogSize()
	dir := t.TempDir()
	p := writeAPK(t, dir, "fleet.apk", fmt.Sprintf("mqtt://telemetry.fleet-gown.net:%d", s.Addr.Port()), "https://www.google.com/policies")
	var out, errb bytes.Buffer
	err := cmdApp(t.Context(), []string{p, "--json", "--allow-private", "--no-dns", "--no-store", "--source", testbed.Source.String(),
		"--resolve", "telemetry.fleet-gown.net=" + s.Addr.Addr().String()}, stdio{out: &out, err: &errb})
	if err != nil {
		t.Fatalf("err %v; stderr %s", err, errb.String())
	}
	var got *gown.Result
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r gown.Result
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Target.Port == int(s.Addr.Port()) {
			got = &r
		}
	}
	if got == nil || got.Store != "mqtt" || got.Status != gown.StatusOpen || got.Target.Host != "telemetry.fleet-gown.net" ||
		got.Inventory == nil || got.Inventory.Items != s.Want.Items {
		t.Fatalf("result = %+v; stdout %s; stderr %s", got, out.String(), errb.String())
	}
	geo := false
	if got.Exposure != nil {
		for _, c := range got.Exposure.Classes {
			geo = geo || (c.Database == "vehicles" && c.Class == "geo")
		}
	}
	if !geo {
		t.Errorf("no geo class in the vehicles' location stream: %+v", got.Exposure)
	}
	time.Sleep(200 * time.Millisecond) // mosquitto logs as it handles
	pkts, err := s.MQTTPackets(mark)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) == 0 {
		t.Fatal("mosquitto's log shows nothing from gown app: the check proves nothing")
	}
	for _, p := range pkts {
		switch p.Type {
		case "connection", "CONNECT", "SUBSCRIBE", "PINGREQ", "DISCONNECT":
		default:
			t.Errorf("mosquitto received %s from gown app: %s", p.Type, p.Line)
		}
	}
}
