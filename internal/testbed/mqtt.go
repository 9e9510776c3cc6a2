package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gownscan/gown"
)

// mqttVariant is one mosquitto configuration.
type mqttVariant struct {
	name string
	want gown.Status
	// password: anonymous clients refused (allow_anonymous false and a
	// password file); acl: anonymous clients connect, but an ACL file gives
	// them no topic.
	password, acl bool
	// tls: the listener speaks TLS only, with a self-signed certificate
	// for CN=gown-testbed-mqtt-tls.
	tls bool
}

var mosquittoPackages = []pkg{{"mosquitto", []string{"mosquitto", "mosquitto_passwd"}}}

func mqttVariants() []mqttVariant {
	return []mqttVariant{
		{name: "mqtt-open", want: gown.StatusOpen},
		{name: "mqtt-auth", want: gown.StatusAuthRequired, password: true},
		{name: "mqtt-acl", want: gown.StatusRestricted, acl: true},
		{name: "mqtt-tls", want: gown.StatusOpen, tls: true},
	}
}

func mqttConfigs() []config {
	var out []config
	for _, v := range mqttVariants() {
		out = append(out, config{name: v.name, kind: "mqtt", pkgs: mosquittoPackages,
			start: func(ctx context.Context, log io.Writer, s *Server) error { return startMosquitto(ctx, log, s, v) }})
	}
	return out
}

// Vehicles are the planted location stream of mqtt-open: each publishes its
// position, retained, every MQTTStreamEvery while the broker runs.
var Vehicles = []string{"truck-1", "truck-2", "truck-3"}

// MQTTStreamEvery is how often each vehicle of mqtt-open reports.
const MQTTStreamEvery = 250 * time.Millisecond

// mqttSensors is how many quiet sensor topics mqtt-open holds beside the
// corpus and the vehicles.
const mqttSensors = 20

// startMosquitto runs mosquitto with every log type on stderr (the
// server's own record of each packet a client sends: "Received SUBSCRIBE
// from gown-…"), plants retained messages and, on mqtt-open, starts the
// location stream.
func startMosquitto(ctx context.Context, log io.Writer, s *Server, v mqttVariant) error {
	bin, err := LookBin("mosquitto")
	if err != nil {
		return err
	}
	if s.dir, err = tempDir(v.name); err != nil {
		return err
	}
	began := time.Now()
	// mosquitto started as root switches to its own user; start it as that
	// user instead, so the parent-death signal stays set.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		if cred, err = userCred("mosquitto"); err != nil {
			return fmt.Errorf("testbed: mosquitto refuses root and %w", err)
		}
	}
	conf := []string{"allow_anonymous " + strconv.FormatBool(!v.password), "persistence false",
		"log_dest stderr", "log_type all", "connection_messages true", "log_timestamp_format %Y-%m-%dT%H:%M:%S"}
	// The bed's own publisher logs in as a user in every configuration, so
	// its packets are told from the scan's in the log by name as well as by
	// address.
	s.User, s.Password = "gown-testbed", secret()
	pw := filepath.Join(s.dir, "passwd")
	if err := writeOwned(pw, "", cred); err != nil {
		return err
	}
	if out, err := exec.CommandContext(ctx, "mosquitto_passwd", "-b", pw, s.User, s.Password).CombinedOutput(); err != nil {
		return fmt.Errorf("testbed: mosquitto_passwd: %w: %s", err, out)
	}
	conf = append(conf, "password_file "+pw)
	if v.acl {
		acl := filepath.Join(s.dir, "acl")
		if err := writeOwned(acl, "user "+s.User+"\ntopic readwrite #\n", cred); err != nil {
			return err
		}
		conf = append(conf, "acl_file "+acl)
	}
	if v.tls {
		cert, key, err := selfSigned("gown-testbed-" + v.name)
		if err != nil {
			return err
		}
		cf, kf := filepath.Join(s.dir, "cert.pem"), filepath.Join(s.dir, "key.pem")
		if err := writeOwned(cf, string(cert), cred); err != nil {
			return err
		}
		if err := writeOwned(kf, string(key), cred); err != nil {
			return err
		}
		conf = append(conf, "certfile "+cf, "keyfile "+kf)
		s.TLS = true
	}
	confPath := filepath.Join(s.dir, "mosquitto.conf")
	s.LogPath = filepath.Join(s.dir, "server.log")
	s.proc, s.Addr, err = launchSpec{ip: loopback, logPath: s.LogPath, bin: bin, cred: cred,
		args: func(port uint16) []string {
			text := strings.Join(append([]string{fmt.Sprintf("listener %d %s", port, loopback)}, conf...), "\n") + "\n"
			if err := writeOwned(confPath, text, cred); err != nil {
				return []string{"--no-such-flag"} // fails at once; run reports the exit
			}
			return []string{"-c", confPath}
		},
		owned: func(p *proc, _ netip.AddrPort) func(context.Context) bool {
			return func(context.Context) bool { return logSays(p, " running") }
		},
	}.run(ctx)
	if err != nil {
		return err
	}
	listening := time.Now()
	dbs := map[string]uint64{}
	if v.want == gown.StatusOpen {
		msgs := mqttCorpus()
		if err := s.mqttPublish(ctx, msgs); err != nil {
			return err
		}
		for _, m := range msgs {
			dbs[mqttDatabase(m[0])]++
		}
		stop, err := s.mqttStream(ctx)
		if err != nil {
			return err
		}
		s.stopMore = stop
	}
	s.Want = newTruth(v.want, dbs)
	s.Want.TLS = gown.TLSNone
	if v.tls {
		s.Want.TLS = gown.TLSRequired
	}
	if v.want == gown.StatusOpen {
		s.Want.Classes, s.Want.PIIDatabase, s.Want.Signs = PIIClasses, "users", []string{"ransom-note"}
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	fmt.Fprintf(log, "testbed: %s on %s (pid %d) ready in %s (start %s, plant %s)\n",
		v.name, s.Addr, s.proc.pid(), ms(time.Since(began)), ms(listening.Sub(began)), ms(time.Since(listening)))
	return nil
}

// mqttDatabase is a topic's first level, as gown inventories it.
func mqttDatabase(topic string) string {
	first, _, _ := strings.Cut(topic, "/")
	return first
}

// mqttCorpus is what mqtt-open holds as retained messages: each person as
// JSON on users/<id>/profile, quiet sensors, the vehicles' first positions
// and the ransom note on its own topic.
func mqttCorpus() [][2]string {
	var out [][2]string
	for _, p := range People {
		m := map[string]string{}
		for _, f := range p.Fields() {
			m[f[0]] = f[1]
		}
		b, _ := json.Marshal(m) // a map of strings always encodes
		out = append(out, [2]string{"users/" + p.ID + "/profile", string(b)})
	}
	for i := range mqttSensors {
		out = append(out, [2]string{fmt.Sprintf("sensors/greenhouse-%02d/temperature", i+1), fmt.Sprintf("%.1f", 18+float64(i)/4)})
	}
	for i, v := range Vehicles {
		out = append(out, [2]string{"vehicles/" + v + "/location", vehiclePosition(i, 0)})
	}
	return append(out, [2]string{RansomName, RansomMessage})
}

// vehiclePosition is vehicle i's report number n: a point moving along a
// line near one of the planted people's cities.
func vehiclePosition(i, n int) string {
	p := People[i%len(People)]
	lat, _ := strconv.ParseFloat(p.Lat, 64)
	lon, _ := strconv.ParseFloat(p.Lon, 64)
	return fmt.Sprintf(`{"vehicle":%q,"lat":%.6f,"lon":%.6f,"speed_kmh":%d,"seq":%d}`,
		Vehicles[i], lat+float64(n%100)*0.0001, lon+float64(n%100)*0.0001, 40+n%30, n)
}

// mqttPublish publishes msgs as retained messages, as the bed's user, and
// waits until the broker has taken them (PINGRESP comes after them).
func (s *Server) mqttPublish(ctx context.Context, msgs [][2]string) error {
	c, err := dialMQTT(ctx, s.Addr, s.TLS, s.User, s.Password)
	if err != nil {
		return err
	}
	defer c.close()
	for _, m := range msgs {
		if err := c.publish(m[0], m[1]); err != nil {
			return err
		}
	}
	return c.ping()
}

// mqttStream starts the vehicles' reports; the returned func stops them.
func (s *Server) mqttStream(ctx context.Context) (func() error, error) {
	c, err := dialMQTT(ctx, s.Addr, s.TLS, s.User, s.Password)
	if err != nil {
		return nil, err
	}
	c.conn.SetDeadline(time.Time{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(MQTTStreamEvery)
		defer tick.Stop()
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for i, v := range Vehicles {
				c.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
				if c.publish("vehicles/"+v+"/location", vehiclePosition(i, n)) != nil {
					return // the broker is gone
				}
			}
		}
	})
	var once sync.Once
	return func() error {
		once.Do(func() { close(done); wg.Wait(); c.close() })
		return nil
	}, nil
}

// checkMQTT connects anonymously from Source and checks the broker answers
// as planted: CONNACK 0 and retained messages delivered (open), CONNACK 5
// (auth-required), or CONNACK 0 and nothing delivered (restricted:
// mosquitto 2.0 grants a subscription its ACL denies, then filters every
// message out, $SYS included).
func (s *Server) checkMQTT(ctx context.Context) error {
	c, err := dialMQTTFrom(ctx, s.Addr, Source, s.TLS, "", "")
	var refused *mqttRefused
	switch {
	case s.Want.Status == gown.StatusAuthRequired:
		if !asRefused(err, &refused) || (refused.code != 4 && refused.code != 5) {
			return fmt.Errorf("anonymous CONNACK: %v, want not authorized", err)
		}
		return nil
	case err != nil:
		return err
	}
	defer c.close()
	granted, retained, err := c.subscribeAll()
	if err != nil {
		return err
	}
	if open := granted && retained > 0; open != (s.Want.Status == gown.StatusOpen) {
		return fmt.Errorf("anonymous SUBSCRIBE # granted %t, %d retained messages; planted %s", granted, retained, s.Want.Status)
	}
	return nil
}
