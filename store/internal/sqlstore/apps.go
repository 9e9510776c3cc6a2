package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gownscan/gown"
)

// The statements that store an app (gown.Record.App), prepared on the first
// app of a batch: batches of probe results never pay for them.
const (
	insApp = `INSERT INTO apps (scan_id, file, platform, format, app_id, version, target_sdk, signer, encrypted,
		frameworks, identity, credentials, cleartext, errors)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`
	insEndpoint = `INSERT INTO endpoints (app_id, seq, kind, value, scheme, host, port, store, tls, path, party,
		first_party, confidence, cleartext, sources, parts)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// addApp stores an app with its endpoints. An app the scan already holds
// (the same file) is skipped, so a replayed batch adds nothing.
func (b *batchStmts) addApp(ctx context.Context, scan int64, a *gown.App) error {
	appStmt, err := b.stmt(ctx, &b.app, insApp)
	if err != nil {
		return err
	}
	endpointStmt, err := b.stmt(ctx, &b.endpoint, insEndpoint)
	if err != nil {
		return err
	}
	var lists [5]string
	for i, l := range []struct {
		v any
		n int
	}{{a.Frameworks, len(a.Frameworks)}, {a.Identity, len(a.Identity)}, {a.Credentials, len(a.Credentials)},
		{a.Cleartext, len(a.Cleartext)}, {a.Errors, len(a.Errors)}} {
		var err error
		if lists[i], err = jsonText(l.v, l.n > 0); err != nil {
			return err
		}
	}
	var id int64
	err = appStmt.QueryRowContext(ctx, clean(scan, a.File, string(a.Platform), a.Format, a.ID, a.Version, a.TargetSDK,
		a.Signer, a.Encrypted, lists[0], lists[1], lists[2], lists[3], lists[4])...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // stored before
	}
	if err != nil {
		return fmt.Errorf("app %s: %w", a.File, err)
	}
	plain := map[string]bool{} // the endpoints the app's policy lets clear text through to
	for _, c := range a.Cleartext {
		for _, v := range c.Endpoints {
			plain[v] = true
		}
	}
	for i, e := range a.Endpoints {
		sources, err := jsonText(e.Sources, len(e.Sources) > 0)
		if err != nil {
			return err
		}
		parts, err := jsonText(e.Parts, len(e.Parts) > 0)
		if err != nil {
			return err
		}
		if _, err := endpointStmt.ExecContext(ctx, clean(id, i, string(e.Kind), e.Value, e.Scheme, e.Host, e.Port, e.Store, e.TLS,
			e.Path, string(e.Party), e.FirstParty, e.Confidence, plain[e.Value], sources, parts)...); err != nil {
			return fmt.Errorf("app %s endpoint %d: %w", a.File, i, err)
		}
	}
	return nil
}

// appPage bounds how many apps Apps holds at once; an app's endpoints are
// bounded by extraction.
const appPage = 100

// storedApp is an app being assembled from its rows.
type storedApp struct {
	id  int64
	app *gown.App
}

// ScanApps walks the apps a scan read, in the order they were stored, a
// page at a time: no query is open while fn runs.
func (s *Store) ScanApps(ctx context.Context, scan gown.ScanID, fn func(*gown.App) error) error {
	var after int64
	for {
		page, err := s.appPage(ctx, int64(scan), after)
		if err != nil {
			return fmt.Errorf("%s: apps of scan %d: %w", s.d.Name, scan, err)
		}
		for _, sa := range page {
			if err := fn(sa.app); err != nil {
				return err
			}
		}
		if len(page) < appPage {
			return nil
		}
		after = page[len(page)-1].id
	}
}

func (s *Store) appPage(ctx context.Context, scan, after int64) ([]storedApp, error) {
	page, err := collect(ctx, s.db, s.q(`SELECT id, file, platform, format, app_id, version, target_sdk, signer, encrypted,
		frameworks, identity, credentials, cleartext, errors FROM apps WHERE scan_id = ? AND id > ? ORDER BY id LIMIT `+fmt.Sprint(appPage)),
		[]any{scan, after}, scanApp)
	if err != nil || len(page) == 0 {
		return page, err
	}
	byID := make(map[int64]*gown.App, len(page))
	ids := make([]any, len(page))
	for i, sa := range page {
		byID[sa.id], ids[i] = sa.app, sa.id
	}
	in := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ids)), ",") + ")"
	err = each(ctx, s.db, s.q(`SELECT app_id, kind, value, scheme, host, port, store, tls, path, party, first_party, confidence,
		sources, parts FROM endpoints WHERE app_id IN `+in+` ORDER BY app_id, seq`), ids, func(r *sql.Rows) error {
		var id int64
		var e gown.Endpoint
		var kind, party, sources, parts string
		if err := r.Scan(&id, &kind, &e.Value, &e.Scheme, &e.Host, &e.Port, &e.Store, &e.TLS, &e.Path, &party, &e.FirstParty,
			&e.Confidence, &sources, &parts); err != nil {
			return err
		}
		e.Kind, e.Party = gown.EndpointKind(kind), gown.Party(party)
		// Sources is always a list in gown app's output, empty or not.
		e.Sources = []gown.Source{}
		if err := unmarshalText(sources, &e.Sources); err != nil {
			return fmt.Errorf("sources of %s: %w", e.Value, err)
		}
		if err := unmarshalText(parts, &e.Parts); err != nil {
			return fmt.Errorf("parts of %s: %w", e.Value, err)
		}
		a := byID[id]
		a.Endpoints = append(a.Endpoints, e)
		return nil
	})
	return page, err
}

func scanApp(r rowScanner) (storedApp, error) {
	a := &gown.App{}
	sa := storedApp{app: a}
	var platform string
	var lists [5]string
	err := r.Scan(&sa.id, &a.File, &platform, &a.Format, &a.ID, &a.Version, &a.TargetSDK, &a.Signer, &a.Encrypted,
		&lists[0], &lists[1], &lists[2], &lists[3], &lists[4])
	if err != nil {
		return storedApp{}, err
	}
	a.Platform = gown.Platform(platform)
	for i, dst := range []any{&a.Frameworks, &a.Identity, &a.Credentials, &a.Cleartext, &a.Errors} {
		if err := unmarshalText(lists[i], dst); err != nil {
			return storedApp{}, fmt.Errorf("app %s: %w", a.File, err)
		}
	}
	return sa, nil
}
