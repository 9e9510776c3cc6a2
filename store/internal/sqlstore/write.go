package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gownscan/gown"
)

// The statements one batch runs, prepared once per transaction.
const (
	insTarget = `INSERT INTO targets (scan_id, key, host, ip, port, hint, origin, status, path)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	insService = `INSERT INTO services (scan_id, target_key, store, host, ip, port, hint, tls_hint, origin,
		product, version, status, reason, tls_mode, tls_version, tls_subject, tls_issuer, tls_not_after,
		tls_self_signed, has_inventory, items, bytes, truncated, details, error, started_at, duration_ns, exposure, signs, facts, path)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	insDatabase = `INSERT INTO databases (service_id, seq, name, items, bytes, system) VALUES (?, ?, ?, ?, ?, ?)`
	insEvidence = `INSERT INTO evidence (service_id, seq, step, sent, received) VALUES (?, ?, ?, ?, ?)`
	// A re-scan updates the finding in place; an older scan written late
	// (a resumed one) does not overwrite a newer scan's view.
	upsFinding = `INSERT INTO findings (id, rule, store, host, ip, port, severity, title, items, bytes, first_seen, last_seen, path)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET ip = excluded.ip, severity = excluded.severity, title = excluded.title,
			items = excluded.items, bytes = excluded.bytes, last_seen = excluded.last_seen
		WHERE excluded.last_seen >= findings.last_seen`
	insOccurrence = `INSERT INTO occurrences (scan_id, finding_id, service_id, seq, severity, title, items, bytes, classes, origin, locations)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
)

// insClosed stores the finished-only targets of one batch as one row
// (0010_closed.sql); the same batch stored again adds nothing.
const insClosed = `INSERT INTO closed_targets (scan_id, digest, lo, hi, n, keys) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`

// batchStmts are the prepared statements of one transaction.
type batchStmts struct {
	target, service, database, evidence, finding, occurrence *sql.Stmt
	app, endpoint                                            *sql.Stmt // insApp, insEndpoint, prepared on first use
	tx                                                       *sql.Tx
	q                                                        func(string) string
}

// stmt returns *dst, preparing q into it on first use: a transaction
// prepares only the statements its records need (an app's batch uses two
// of the eight; preparing all took a third of a millisecond of gown app on
// a small APK).
func (b *batchStmts) stmt(ctx context.Context, dst **sql.Stmt, q string) (*sql.Stmt, error) {
	if *dst == nil {
		st, err := b.tx.PrepareContext(ctx, b.q(q))
		if err != nil {
			return nil, err
		}
		*dst = st
	}
	return *dst, nil
}

// AddResults stores a batch in one transaction. A target the scan already
// holds is skipped whole, so a replayed batch changes nothing.
func (s *Store) AddResults(ctx context.Context, scan gown.ScanID, batch []gown.Record) error {
	if len(batch) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin batch: %w", s.d.Name, err)
	}
	defer tx.Rollback()
	st := &batchStmts{tx: tx, q: s.q}
	var closed []string
	for i := range batch {
		if batch[i].OnlyDone() {
			closed = append(closed, gown.TargetKey(batch[i].Target))
			continue
		}
		if err := st.add(ctx, int64(scan), &batch[i]); err != nil {
			return fmt.Errorf("%s: store %s: %w", s.d.Name, batch[i].Target, err)
		}
	}
	if len(closed) > 0 {
		if err := st.addClosed(ctx, int64(scan), closed); err != nil {
			return fmt.Errorf("%s: store %d finished targets from %s: %w", s.d.Name, len(closed), closed[0], err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit batch of %d: %w", s.d.Name, len(batch), err)
	}
	return nil
}

// addClosed stores the keys of targets that only finished as one
// closed_targets row: one insert instead of one a target, which cost about
// 4.5 µs each in SQLite (BenchmarkWriteClosed), a fifth of a 50,000-port
// scan.
func (b *batchStmts) addClosed(ctx context.Context, scan int64, keys []string) error {
	slices.Sort(keys)
	keys = slices.Compact(keys)
	text, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(text)
	_, err = b.tx.ExecContext(ctx, b.q(insClosed), clean(scan, hex.EncodeToString(sum[:]), keys[0], keys[len(keys)-1], len(keys), string(text))...)
	return err
}

func (b *batchStmts) add(ctx context.Context, scan int64, rec *gown.Record) error {
	if rec.App != nil {
		// An app read by the scan, with its own findings: no target.
		if err := b.addApp(ctx, scan, rec.App); err != nil {
			return err
		}
		return b.addFindings(ctx, scan, nil, rec.Findings)
	}
	if rec.Standalone() {
		// No target is finished and no service stored: the findings stand
		// on their own, each naming its subject.
		return b.addFindings(ctx, scan, nil, rec.Findings)
	}
	t := rec.Target
	status := gown.StatusError
	if rec.Result != nil {
		status = rec.Result.Status
	}
	st, err := b.stmt(ctx, &b.target, insTarget)
	if err != nil {
		return err
	}
	res, err := st.ExecContext(ctx, clean(scan, gown.TargetKey(t), t.Host, addr(t), t.Port, t.Hint, t.Origin, string(status), t.Path)...)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 || rec.Result == nil {
		return err
	}
	sid, err := b.addService(ctx, scan, rec.Result, gown.TargetKey(rec.Result.Target))
	if err != nil {
		return err
	}
	return b.addFindings(ctx, scan, &sid, rec.Findings)
}

// addFindings upserts each finding and records its occurrence in the scan,
// under the service it was drawn from (nil for standalone findings).
func (b *batchStmts) addFindings(ctx context.Context, scan int64, service *int64, fs []gown.Finding) error {
	for i, f := range fs {
		st, err := b.stmt(ctx, &b.finding, upsFinding)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, clean(f.ID, f.Rule, f.Store, f.Target.Host, addr(f.Target), f.Target.Port,
			int(f.Severity), f.Title, clamp(f.Items), clamp(f.Bytes), scan, scan, f.Target.Path)...); err != nil {
			return err
		}
		classes, err := jsonText(f.Classes, len(f.Classes) > 0)
		if err != nil {
			return err
		}
		var sid any // NULL for a standalone finding
		origin, locations := "", ""
		if service != nil {
			sid = *service
		} else if origin, locations = f.Target.Origin, ""; len(f.Locations) > 0 {
			if locations, err = jsonText(f.Locations, true); err != nil {
				return err
			}
		}
		occ, err := b.stmt(ctx, &b.occurrence, insOccurrence)
		if err != nil {
			return err
		}
		if _, err := occ.ExecContext(ctx, clean(scan, f.ID, sid, i, int(f.Severity), f.Title,
			clamp(f.Items), clamp(f.Bytes), classes, origin, locations)...); err != nil {
			return err
		}
	}
	return nil
}

func (b *batchStmts) addService(ctx context.Context, scan int64, r *gown.Result, key string) (int64, error) {
	details, err := jsonText(r.Details, len(r.Details) > 0)
	if err != nil {
		return 0, err
	}
	exposure, err := jsonText(r.Exposure, r.Exposure != nil)
	if err != nil {
		return 0, err
	}
	signs, err := jsonText(r.Signs, len(r.Signs) > 0)
	if err != nil {
		return 0, err
	}
	facts, err := jsonText(r.Facts, r.Facts != (gown.Facts{}))
	if err != nil {
		return 0, err
	}
	inv := r.Inventory
	hasInv := inv != nil
	if inv == nil {
		inv = &gown.Inventory{}
	}
	t := r.Target
	var id int64
	st, err := b.stmt(ctx, &b.service, insService)
	if err != nil {
		return 0, err
	}
	err = st.QueryRowContext(ctx, clean(scan, key, r.Store, t.Host, addr(t), t.Port, t.Hint, t.TLS, t.Origin,
		r.Product, r.Version, string(r.Status), r.Reason, string(r.TLS.Mode), r.TLS.Version, r.TLS.Subject,
		r.TLS.Issuer, fmtTime(r.TLS.NotAfter), r.TLS.SelfSigned, hasInv, clamp(inv.Items), clamp(inv.Bytes),
		inv.Truncated, details, r.Error, fmtTime(r.Start), int64(r.Duration), exposure, signs, facts, t.Path)...).Scan(&id)
	if err != nil {
		return 0, err
	}
	for i, d := range inv.Databases {
		st, err := b.stmt(ctx, &b.database, insDatabase)
		if err != nil {
			return 0, err
		}
		if _, err := st.ExecContext(ctx, clean(id, i, d.Name, clamp(d.Items), clamp(d.Bytes), d.System)...); err != nil {
			return 0, err
		}
	}
	for i, e := range r.Evidence {
		st, err := b.stmt(ctx, &b.evidence, insEvidence)
		if err != nil {
			return 0, err
		}
		if _, err := st.ExecContext(ctx, clean(id, i, e.Step, e.Sent, e.Received)...); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// jsonText encodes v as JSON text for a TEXT column, or "" when there is
// nothing to keep.
func jsonText(v any, present bool) (string, error) {
	if !present {
		return "", nil
	}
	j, err := json.Marshal(v)
	return string(j), err
}

func addr(t gown.Target) string {
	if !t.Addr.IsValid() {
		return ""
	}
	return t.Addr.String()
}

// clean makes strings a hostile server chose storable in both databases:
// PostgreSQL text refuses NUL and invalid UTF-8, so both backends store the
// same escaped form and read back alike.
func clean(args ...any) []any {
	for i, a := range args {
		if s, ok := a.(string); ok && !cleanText(s) {
			args[i] = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", `\x00`)
		}
	}
	return args
}

func cleanText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
