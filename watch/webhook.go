package watch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gownscan/gown"
)

// Sink formats.
const (
	FormatJSON  = "json"  // the Payload document
	FormatSlack = "slack" // {"text": "..."}, as Slack's incoming webhooks take
)

// Sink is one webhook: where alerts are POSTed and in which shape. Its URL
// may be a secret (a Slack webhook URL is one): it is never stored or
// logged; the store knows the sink by ID, a hash of it.
type Sink struct {
	URL    string
	Format string
	// Client sends the requests; nil uses one with no proxy, a 10 s
	// timeout, and no redirects (an alert is not sent on to where a
	// redirect points).
	Client *http.Client
}

// Validate checks the sink's URL and format.
func (s Sink) Validate() error {
	u, err := url.Parse(s.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("webhook %s: want an http:// or https:// URL", s.Masked())
	}
	if s.Format != FormatJSON && s.Format != FormatSlack {
		return fmt.Errorf("webhook %s: format %q: want json or slack", s.Masked(), s.Format)
	}
	return nil
}

// ID names the sink in the store: a hash of its format and URL.
func (s Sink) ID() string {
	h := sha256.Sum256([]byte(s.Format + "\x00" + s.URL))
	return s.Format + ":" + hex.EncodeToString(h[:8])
}

// Masked is the sink as logs show it: scheme and host, the path cut.
func (s Sink) Masked() string {
	u, err := url.Parse(s.URL)
	if err != nil || u.Host == "" {
		return "(a webhook)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// Retry sets how a delivery is retried: Attempts in all, waiting Base, then
// twice as long each time, up to Max.
type Retry struct {
	Attempts  int
	Base, Max time.Duration
}

// Validate fills in defaults: 5 attempts, 1 s doubling up to 1 min.
func (r *Retry) Validate() error {
	if r.Attempts == 0 {
		r.Attempts = 5
	}
	if r.Base == 0 {
		r.Base = time.Second
	}
	if r.Max == 0 {
		r.Max = time.Minute
	}
	if r.Attempts < 1 || r.Attempts > 100 || r.Base < 0 || r.Max < r.Base {
		return fmt.Errorf("watch: retries: %d attempts, %s to %s: want 1 to 100 attempts and 0 <= base <= max", r.Attempts, r.Base, r.Max)
	}
	return nil
}

// backoff is the wait after the n-th failed attempt (from 1).
func (r Retry) backoff(n int) time.Duration {
	d := r.Base
	for i := 1; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max)
}

var defaultClient = &http.Client{
	Timeout:       10 * time.Second,
	Transport:     &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 2},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// permanent marks an answer a retry cannot change (a 4xx other than 408
// and 429): the delivery fails at once.
type permanent struct{ error }

// body builds what the sink receives for a payload.
func (s Sink) body(raw []byte) ([]byte, error) {
	if s.Format == FormatJSON {
		return raw, nil
	}
	var p Payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	return json.Marshal(map[string]string{"text": SlackText(p)})
}

// SlackText is an alert as one Slack message (mrkdwn).
func SlackText(p Payload) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*gown watch %s*: %s *%s* on `%s`", p.Watch, strings.ToUpper(p.Severity.String()), strings.ToUpper(p.Kind), p.Finding.Target)
	if p.Finding.Store != "" {
		fmt.Fprintf(&b, " (%s)", p.Finding.Store)
	}
	fmt.Fprintf(&b, "\n%s", p.Finding.Title)
	switch p.Kind {
	case "grown", "shrunk", "wiped":
		fmt.Fprintf(&b, "\nitems %d → %d, bytes %d → %d", p.ItemsBefore, p.ItemsAfter, p.BytesBefore, p.BytesAfter)
	}
	if len(p.Notes) > 0 {
		fmt.Fprintf(&b, "\nransom note at %s", strings.Join(p.Notes, ", "))
	}
	if p.Fleet != nil {
		fmt.Fprintf(&b, "\nfleet: %d devices, %d owners run %s", p.Fleet.Devices, p.Fleet.Owners, strings.Join(p.Fleet.Apps, ", "))
	}
	fmt.Fprintf(&b, "\nscan %d (run %d), finding %s, alert %s", p.Scan, p.Run, p.Finding.ID, p.AlertID)
	// Slack reads <, > and & as markup; server text must stay text.
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(b.String())
}

// post sends one alert once.
func (s Sink) post(ctx context.Context, alertID string, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return permanent{fmt.Errorf("webhook %s: %w", s.Masked(), err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gown-watch")
	req.Header.Set("X-Gown-Alert-Id", alertID)
	c := s.Client
	if c == nil {
		c = defaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL may be a secret: say where, not what.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook %s: %w", s.Masked(), err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != 408 && resp.StatusCode != 429:
		return permanent{fmt.Errorf("webhook %s: %s", s.Masked(), resp.Status)}
	}
	return fmt.Errorf("webhook %s: %s", s.Masked(), resp.Status)
}

// deliverPending delivers every pending alert of the watch to each of its
// sinks, in the order they were recorded, each with its retries, and
// records how each went.
func (wt *Watcher) deliverPending(ctx context.Context) error {
	if len(wt.cfg.Sinks) == 0 {
		return nil
	}
	bySink := map[string]Sink{}
	for _, s := range wt.cfg.Sinks {
		bySink[s.ID()] = s
	}
	var pending []gown.Delivery
	err := wt.cfg.Store.Deliveries(ctx, wt.w.ID, []string{gown.DeliveryPending}, func(d gown.Delivery) error {
		if _, ok := bySink[d.Sink]; ok {
			pending = append(pending, d)
		}
		return nil
	})
	if err != nil {
		return err
	}
	failed := 0
	for _, d := range pending {
		if err := wt.deliver(ctx, bySink[d.Sink], d); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed++
		}
	}
	if failed > 0 {
		wt.logf("%d deliveries failed for good: gown watch status --name %s lists them", failed, wt.w.Name)
	}
	return nil
}

// deliver sends one alert to one sink with retries. Each failed attempt is
// recorded, so a watch killed between attempts keeps the count.
func (wt *Watcher) deliver(ctx context.Context, s Sink, d gown.Delivery) error {
	st := wt.cfg.Store
	body, err := s.body(d.Alert.Payload)
	if err != nil {
		return st.RecordDelivery(ctx, d.Alert.ID, d.Sink, gown.DeliveryFailed, d.Attempts, "payload: "+err.Error())
	}
	attempts := d.Attempts
	for {
		attempts++
		err := s.post(ctx, d.Alert.ID, body)
		if err == nil {
			return st.RecordDelivery(context.WithoutCancel(ctx), d.Alert.ID, d.Sink, gown.DeliveryDelivered, attempts, "")
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var perm permanent
		if errors.As(err, &perm) || attempts >= wt.cfg.Retry.Attempts {
			wt.logf("alert %s to %s: not delivered after %d attempts: %v", d.Alert.ID, s.Masked(), attempts, err)
			if rerr := st.RecordDelivery(ctx, d.Alert.ID, d.Sink, gown.DeliveryFailed, attempts, err.Error()); rerr != nil {
				return rerr
			}
			return err
		}
		if rerr := st.RecordDelivery(ctx, d.Alert.ID, d.Sink, gown.DeliveryPending, attempts, err.Error()); rerr != nil {
			return rerr
		}
		wait := wt.cfg.Retry.backoff(attempts)
		wt.logf("alert %s to %s: attempt %d failed (%v); again in %s", d.Alert.ID, s.Masked(), attempts, err, wait)
		if err := wt.cfg.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// Redeliver marks the watch's failed deliveries pending again, for the next
// cycle (or Once) to retry: gown watch --redeliver.
func Redeliver(ctx context.Context, st gown.WatchStore, watch int64) (int, error) {
	var failed []gown.Delivery
	err := st.Deliveries(ctx, watch, []string{gown.DeliveryFailed}, func(d gown.Delivery) error {
		failed = append(failed, d)
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, d := range failed {
		if err := st.RecordDelivery(ctx, d.Alert.ID, d.Sink, gown.DeliveryPending, 0, d.LastError); err != nil {
			return 0, err
		}
	}
	return len(failed), nil
}
