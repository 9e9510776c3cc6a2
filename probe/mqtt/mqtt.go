// Package mqtt checks whether an MQTT broker (1883; 8883 over TLS) lets an
// anonymous client read what flows through it: telemetry, chat, the live
// positions of vehicles and phones.
//
// It follows MQTT 3.1.1 (OASIS, 2014), which every broker still speaks, and
// writes the few packets it needs by hand (about 150 lines in wire.go)
// rather than take a client library: paho.mqtt.golang dials on its own,
// runs reader, writer and keep-alive goroutines and reconnects, none of
// which could go through probe.Dialer's caps, deadlines and evidence. It
// sends only these packets, in this order, on one connection:
//
//	CONNECT      protocol "MQTT" level 4, clean session, client id
//	             "gown-<8 hex>", no user name, no password, no will
//	SUBSCRIBE    packet id 1: "#" and "$SYS/#", both at QoS 0 (only when
//	             CONNACK accepted the connection)
//	PINGREQ      right after SUBSCRIBE: its PINGRESP marks the end of the
//	             retained messages the broker sends on subscribing
//
// and then closes the connection when the listening window is over.
//
// gown never publishes, never sets a will or a retained message, and never
// asks for a persistent session: the broker keeps nothing of it. Messages
// come at QoS 0, so nothing is acknowledged either.
//
// Verdicts: CONNACK 0, "#" granted in SUBACK and messages delivered means
// open. gown listens for a bounded window (Window after the retained
// messages, and at most the connection's read cap) and inventories the
// topics it heard, one
// database per first topic level ("$SYS" is the broker's own, counted
// apart): items are distinct topics, bytes the size of the last payload of
// each. CONNACK 4 (bad user name or password) or 5 (not authorized) means
// auth-required; an accepted connection whose subscriptions are all refused
// (0x80), or granted but followed by not one message in the window, not
// even the broker's $SYS statistics, is restricted: mosquitto 2.0 grants a
// subscription its ACL denies and then filters every message out. Anything
// that is not a CONNACK is not-service.
package mqtt

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gownscan/gown"
	"github.com/gownscan/gown/probe"
	"github.com/gownscan/gown/redact"
)

// Well-known ports: plaintext and TLS (IANA "mqtt" and "secure-mqtt").
const (
	port    = 1883
	tlsPort = 8883
)

// Window is how long an open broker is listened to after its retained
// messages: long enough to catch streams that report every second or two,
// short enough to keep a scan moving.
const Window = 2 * time.Second

// retainedWait bounds the wait for PINGRESP, which marks the end of the
// retained messages.
const retainedWait = 5 * time.Second

// maxTopics caps the distinct topics kept per broker; past it the inventory
// is marked truncated.
const maxTopics = 10000

// filters are what gown subscribes to: every topic, and the broker's own
// statistics, which "#" does not match (spec 4.7.2).
var filters = []string{"#", "$SYS/#"}

// Prober checks MQTT brokers. Window, when set, replaces the package's
// listening window (tests shorten it).
type Prober struct {
	Window time.Duration
}

var _ probe.Prober = (*Prober)(nil)

// New returns an MQTT prober.
func New() *Prober { return &Prober{} }

var kind = gown.StoreKind{
	Name:  "mqtt",
	Ports: []int{port, tlsPort},
	// Not paho's "tcp" and "ssl": apps name many other services with them.
	Schemes: []gown.Scheme{{Name: "mqtt", Port: port}, {Name: "mqtts", Port: tlsPort, TLS: true}},
}

// Kind describes MQTT: ports 1883 and 8883, schemes mqtt and mqtts.
func (*Prober) Kind() gown.StoreKind { return kind }

func (p *Prober) window() time.Duration {
	if p.Window > 0 {
		return p.Window
	}
	return Window
}

// Probe connects anonymously and, when the broker lets it, subscribes to
// every topic and listens for a bounded window.
func (p *Prober) Probe(ctx context.Context, t gown.Target, d probe.Dialer) (*gown.Result, error) {
	h := &heard{perTopic: map[string]int{}}
	r, l, err := session(ctx, t, d, useTLS(t), p.window(), h.keep)
	if r == nil && !useTLS(t) && ctx.Err() == nil && !isDialError(err) {
		// Nothing placed over plaintext: a TLS-only listener on another
		// port than 8883 drops a plaintext CONNECT. Try TLS once.
		h = &heard{perTopic: map[string]int{}}
		r2, l2, err2 := session(ctx, t, d, true, p.window(), h.keep)
		if r2 == nil {
			return nil, fmt.Errorf("%w (over TLS: %w)", err, err2)
		}
		r, l, err = r2, l2, err2
	}
	if r == nil {
		return nil, err
	}
	if l != nil {
		l.inventory(r)
	}
	if r.Status == gown.StatusOpen {
		r.Heard = h
	}
	if err != nil {
		r.Error = err.Error()
	}
	return r, nil
}

// useTLS says whether to speak TLS at once: a TLS URL or the TLS port.
func useTLS(t gown.Target) bool { return t.TLS || t.Port == tlsPort }

// isDialError reports a failed connect, after which TLS has no chance
// either.
func isDialError(err error) bool {
	var de *probe.DialError
	return errors.As(err, &de)
}

// session runs one connection: CONNECT, and when accepted SUBSCRIBE and the
// listening window, handing each message to onMsg (nil for none). It
// returns the result once the broker was identified, what was heard, and
// the error that ended the session early.
func session(ctx context.Context, t gown.Target, d probe.Dialer, tlsOn bool, window time.Duration, onMsg func(message) error) (*gown.Result, *listening, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := d.Dial(sctx, t)
	if err != nil {
		return nil, nil, fmt.Errorf("mqtt dial %s: %w", t, err)
	}
	defer conn.Close()
	var r *gown.Result
	var suback []byte // the SUBACK packet as received, for evidence
	var l *listening
	defer func() {
		if r != nil {
			r.Evidence = scrub(conn.Evidence(), suback, l)
		}
	}()
	r = &gown.Result{Target: t, Store: "mqtt", TLS: gown.TLS{Mode: gown.TLSNone}}
	if tlsOn {
		if err := conn.UpgradeTLS(probe.ServerName(t)); err != nil {
			r = nil
			return nil, nil, fmt.Errorf("mqtt on %s: %w", t, err)
		}
		r.TLS = *conn.TLS()
		r.TLS.Mode = gown.TLSRequired
	}
	br := bufio.NewReaderSize(conn, 4096)
	conn.Step("CONNECT")
	if _, err := conn.Write(connectPacket(clientID())); err != nil {
		r = nil
		return nil, nil, fmt.Errorf("mqtt CONNECT on %s: %w", t, err)
	}
	ca, err := readConnack(br)
	switch {
	case errors.Is(err, gown.ErrNotService):
		r.Status, r.Reason = gown.StatusNotService, "answered CONNECT with something that is not an MQTT CONNACK"
		return r, nil, nil
	case errors.Is(err, gown.ErrProtocol):
		r.Status, r.Reason = gown.StatusUnknown, "answered CONNECT with a malformed CONNACK"
		return r, nil, err
	case err != nil:
		r = nil
		return nil, nil, fmt.Errorf("mqtt CONNECT on %s: %w", t, err)
	}
	r.Product = "MQTT broker"
	r.Detail("connack", connackText(ca.code))
	switch ca.code {
	case 0:
	case 4, 5:
		r.Status, r.Reason = gown.StatusAuthRequired, "CONNACK refused an anonymous client: "+connackText(ca.code)
		return r, nil, nil
	default:
		r.Status, r.Reason = gown.StatusUnknown, "CONNACK refused the connection: "+connackText(ca.code)
		return r, nil, nil
	}

	conn.Step("SUBSCRIBE # $SYS/#")
	if _, err := conn.Write(subscribePacket(filters...)); err != nil {
		r.Status, r.Reason = gown.StatusUnknown, "accepted an anonymous connection, then dropped SUBSCRIBE"
		return r, nil, fmt.Errorf("mqtt SUBSCRIBE on %s: %w", t, err)
	}
	if _, err := conn.Write(pingreqPacket); err != nil {
		r.Status, r.Reason = gown.StatusUnknown, "accepted an anonymous connection, then dropped SUBSCRIBE"
		return r, nil, fmt.Errorf("mqtt PINGREQ on %s: %w", t, err)
	}
	l = &listening{topics: map[string]int{}}
	// Retained messages may come before SUBACK's return codes are read on
	// some brokers; they are kept and judged once SUBACK is known.
	var codes []byte
	for codes == nil {
		pk, err := readPacket(br)
		if err != nil {
			r.Status, r.Reason = gown.StatusUnknown, "accepted an anonymous connection, then gave no SUBACK"
			return r, nil, fmt.Errorf("mqtt SUBSCRIBE on %s: %w", t, err)
		}
		if pk.typ == typePublish {
			if err := l.add(pk, onMsg); err != nil {
				return r, l, err
			}
			continue
		}
		if pk.typ == typeSuback && pk.body != nil {
			suback = append(appendLength([]byte{pk.typ<<4 | pk.flags}, pk.length), pk.body...)
		}
		if codes, err = parseSuback(pk, len(filters)); err != nil {
			r.Status, r.Reason = gown.StatusUnknown, "accepted an anonymous connection, then answered SUBSCRIBE oddly"
			return r, nil, fmt.Errorf("mqtt SUBSCRIBE on %s: %w", t, err)
		}
	}
	r.Detail("suback", fmt.Sprintf("# %s, $SYS/# %s", grant(codes[0]), grant(codes[1])))
	switch {
	case codes[0] == 0x80 && codes[1] == 0x80:
		r.Status, r.Reason = gown.StatusRestricted, "accepted an anonymous connection but refused subscriptions to # and $SYS/#"
		return r, nil, nil
	case codes[0] == 0x80:
		r.Status, r.Reason = gown.StatusRestricted, "accepted an anonymous connection and $SYS/#, but refused a subscription to #"
	default:
		// Granted is not yet read: mosquitto 2.0 grants a subscription its
		// ACL denies and then delivers nothing. The messages decide, below.
		r.Status, r.Reason = gown.StatusOpen, "accepted an anonymous connection and a subscription to every topic (#), and delivered messages"
	}

	// Listen: the retained messages until PINGRESP, then the window.
	conn.Step("listen")
	began, pinged := time.Now(), false
	// A broker that never answers PINGREQ still gets no more than
	// retainedWait for its retained messages.
	timer := time.AfterFunc(retainedWait+window, cancel)
	defer func() { timer.Stop() }()
	for {
		pk, err := readPacket(br)
		if err != nil {
			l.listened = time.Since(began)
			if sctx.Err() != nil && ctx.Err() == nil {
				// The window is over: the socket was closed on purpose.
				if l.messages == 0 && r.Status == gown.StatusOpen {
					r.Status = gown.StatusRestricted
					r.Reason = fmt.Sprintf("accepted an anonymous connection and granted # and $SYS/#, but delivered not one message in %s, "+
						"not even its $SYS statistics: an ACL withholds every topic (mosquitto grants, then filters), or the broker is silent",
						l.listened.Round(100*time.Millisecond))
					return r, nil, nil
				}
				return r, l, nil
			}
			l.cut = true
			if errors.Is(err, gown.ErrReplyTooLarge) {
				return r, l, nil // the read cap: what was heard is a part, marked truncated
			}
			return r, l, fmt.Errorf("mqtt listen on %s: %w", t, err)
		}
		switch pk.typ {
		case typePublish:
			if err := l.add(pk, onMsg); err != nil {
				l.listened = time.Since(began)
				if errors.Is(err, probe.ErrSampleFull) {
					return r, l, err
				}
				l.cut = true
				return r, l, fmt.Errorf("mqtt listen on %s: %w", t, err)
			}
			if len(l.topics) >= maxTopics {
				l.cut, l.listened = true, time.Since(began)
				return r, l, nil
			}
		case typePingresp:
			if !pinged && timer.Stop() {
				pinged, l.retained = true, l.messages
				timer = time.AfterFunc(window, cancel)
			}
		}
	}
}

// scrub keeps message payloads out of the evidence: they are the very
// records sampling classifies and masks, and the evidence's redaction
// knows secrets by their form, not a postal address by its field. The
// SUBSCRIBE exchange keeps only the SUBACK packet (retained messages may
// follow it in the same read), the listening one becomes a count.
func scrub(ev []gown.Evidence, suback []byte, l *listening) []gown.Evidence {
	out := ev[:0]
	for _, e := range ev {
		switch e.Step {
		case "SUBSCRIBE # $SYS/#":
			e.Received = ""
			if suback != nil {
				e.Received = redact.Bytes(suback, len(suback))
			}
		case "listen":
			if l == nil {
				continue
			}
			e.Received = fmt.Sprintf("(%d PUBLISH packets on %d topics, %d payload bytes: payloads are not kept as evidence)",
				l.messages, len(l.topics), l.bytes)
		}
		out = append(out, e)
	}
	return out
}

// grant names a SUBACK return code.
func grant(c byte) string {
	if c == 0x80 {
		return "refused"
	}
	return "granted QoS " + strconv.Itoa(int(c))
}

// clientID is a fresh client id for each connection: a fixed one would
// make the broker drop another gown (or worse, a real client of that name)
// already connected.
func clientID() string {
	var b [4]byte
	rand.Read(b[:])
	return "gown-" + hex.EncodeToString(b[:])
}

// listening is what one session heard.
type listening struct {
	topics   map[string]int // topic → size of its last payload
	messages int            // PUBLISH packets, retained and live
	retained int            // of which before PINGRESP
	skipped  int            // PUBLISH packets over maxPacket, not placed
	bytes    uint64         // payload bytes of every message
	listened time.Duration  // from SUBACK to the end
	cut      bool           // ended by an error or a cap, not the window
}

// add counts one PUBLISH and hands it on.
func (l *listening) add(pk packet, onMsg func(message) error) error {
	m, err := parsePublish(pk)
	if err != nil {
		return err
	}
	l.messages++
	l.bytes += uint64(m.size)
	if m.topic == "" {
		l.skipped++
		return nil
	}
	l.topics[m.topic] = m.size
	if onMsg != nil {
		return onMsg(m)
	}
	return nil
}

// database is a topic's first level: "vehicles/truck-7/location" is in
// "vehicles", "/a/b" in "/".
func database(topic string) string {
	first, _, _ := strings.Cut(topic, "/")
	if first == "" {
		return "/"
	}
	return first
}

// inventory fills r with the topics heard, one database per first level.
func (l *listening) inventory(r *gown.Result) {
	type tally struct{ items, bytes uint64 }
	dbs := map[string]*tally{}
	var order []string
	for topic, size := range l.topics {
		name := database(topic)
		if dbs[name] == nil {
			dbs[name] = &tally{}
			order = append(order, name)
		}
		dbs[name].items++
		dbs[name].bytes += uint64(size)
	}
	slices.Sort(order)
	inv := &gown.Inventory{Truncated: l.cut}
	for _, name := range order {
		inv.Add(gown.Database{Name: name, Items: dbs[name].items, Bytes: dbs[name].bytes, System: name == "$SYS"})
	}
	r.Inventory = inv
	r.Detail("messages", strconv.Itoa(l.messages))
	r.Detail("retained_messages", strconv.Itoa(l.retained))
	r.Detail("topics", strconv.Itoa(len(l.topics)))
	r.Detail("listened", l.listened.Round(10*time.Millisecond).String())
	if l.skipped > 0 {
		r.Detail("oversized_messages", strconv.Itoa(l.skipped))
	}
}
