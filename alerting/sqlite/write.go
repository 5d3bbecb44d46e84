package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"carebed/alerting"
)

// Raise opens the alert, or counts a repeat of the open alert of the same home and
// kind. It reports whether a new alert was opened.
func (s *Store) Raise(ctx context.Context, r alerting.Raise) (a alerting.Alert, created bool, err error) {
	err = s.tx(ctx, func(tx *txn) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM alerts WHERE home = ? AND kind = ? AND state != 'resolved'`,
			r.Place.Home, string(r.Kind)).Scan(&id)
		switch {
		case err == nil:
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET repeats = repeats + ? WHERE id = ?`, r.ReportCount(), id); err != nil {
				return err
			}
			if err := audit(ctx, tx, id, r.Now, "repeat", r.Device, "device", r.Detail); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		default:
			if id, err = insertAlert(ctx, tx, r); err != nil {
				return err
			}
			created = true
			what, change := "raised", alerting.ChangeRaised
			if !r.HoldUntil.IsZero() {
				what, change = "raised_held", alerting.ChangeHeld
			}
			tx.changed(change, id, r.Now, nil)
			if err := audit(ctx, tx, id, r.Now, what, r.Device, "device", r.Detail); err != nil {
				return err
			}
		}
		// Read it back in the same transaction: another writer may close it the
		// moment this one commits (a village outage folding held alerts).
		a, err = scanAlert(tx.QueryRowContext(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = ?`, id))
		return err
	})
	if err != nil {
		return a, false, fmt.Errorf("raise %s alert: %w", r.Kind, err)
	}
	return a, created, nil
}

func insertAlert(ctx context.Context, tx *txn, r alerting.Raise) (int64, error) {
	state, due := alerting.StateOpen, r.Now
	if !r.HoldUntil.IsZero() {
		state, due = alerting.StatePending, r.HoldUntil
	}
	for range 10 { // a new code until it is unique
		res, err := tx.ExecContext(ctx, `INSERT INTO alerts (code, kind, severity, state, county, township,
			village, home, device, event_at, late_ms, opened_at, hold_until, next_step, next_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
			newCode(), string(r.Kind), string(r.Sev), string(state), r.Place.County, r.Place.Township,
			r.Place.Village, r.Place.Home, r.Device, ms(r.EventAt), r.LateBy.Milliseconds(), ms(r.Now),
			ms(r.HoldUntil), ms(due))
		if err != nil && strings.Contains(err.Error(), "alerts.code") {
			continue
		}
		if err != nil {
			return 0, err
		}
		return res.LastInsertId()
	}
	return 0, errors.New("no free alert code")
}

func (s *Store) openAlert(ctx context.Context, home string, kind alerting.Kind) (alerting.Alert, error) {
	return scanAlert(s.queryRow(ctx, `SELECT `+alertCols+` FROM alerts
		WHERE home = ? AND kind = ? AND state != 'resolved'`, home, string(kind)))
}

// OpenAlert returns the open alert of a home and kind, or alerting.ErrNotFound.
func (s *Store) OpenAlert(ctx context.Context, home string, kind alerting.Kind) (alerting.Alert, error) {
	a, err := s.openAlert(ctx, home, kind)
	if errors.Is(err, sql.ErrNoRows) {
		return a, alerting.ErrNotFound
	}
	return a, err
}

// CancelPending closes the pending (held) alert of a home and kind before anyone was
// paged. It reports false when there is no such alert (none, or already paged).
func (s *Store) CancelPending(ctx context.Context, home string, kind alerting.Kind, now time.Time, device, detail string) (bool, error) {
	var done bool
	err := s.tx(ctx, func(tx *txn) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM alerts WHERE home = ? AND kind = ? AND state = 'pending'`,
			home, string(kind)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'resolved', outcome = ?, resolved_at = ?,
			next_at = 0 WHERE id = ?`, string(alerting.OutcomeCancelled), ms(now), id); err != nil {
			return err
		}
		done = true
		tx.changed(alerting.ChangeCancelled, id, now, nil)
		return audit(ctx, tx, id, now, "cancelled", device, "device", detail)
	})
	return done, err
}

// Ack records that by (a person id) takes the alert through channel. The first
// acknowledgement wins; later ones get alerting.ErrAcknowledged, a resolved alert alerting.ErrResolved.
// The refusal is in the audit trail too.
func (s *Store) Ack(ctx context.Context, id int64, by, channel string, now time.Time) (alerting.Alert, error) {
	var refusal error
	err := s.tx(ctx, func(tx *txn) error {
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM alerts WHERE id = ?`, id).Scan(&state); err != nil {
			return notFound(err)
		}
		switch alerting.State(state) {
		case alerting.StateResolved:
			refusal = alerting.ErrResolved
		case alerting.StateAcknowledged:
			refusal = alerting.ErrAcknowledged
		}
		if refusal != nil {
			return audit(ctx, tx, id, now, "ack_refused", by, channel, refusal.Error())
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'acknowledged', acked_at = ?, acked_by = ?,
			ack_channel = ?, next_at = 0 WHERE id = ?`, ms(now), by, channel, id); err != nil {
			return err
		}
		tx.changed(alerting.ChangeAcknowledged, id, now, nil)
		return audit(ctx, tx, id, now, "acknowledged", by, channel, "")
	})
	if err == nil {
		err = refusal
	}
	a, aerr := s.Alert(ctx, id)
	return a, errors.Join(err, aerr)
}

// Resolve closes the alert with an outcome and a note.
func (s *Store) Resolve(ctx context.Context, id int64, by, channel string, outcome alerting.Outcome, note string, now time.Time) (alerting.Alert, error) {
	var refusal error
	err := s.tx(ctx, func(tx *txn) error {
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM alerts WHERE id = ?`, id).Scan(&state); err != nil {
			return notFound(err)
		}
		if alerting.State(state) == alerting.StateResolved {
			refusal = alerting.ErrResolved
			return audit(ctx, tx, id, now, "resolve_refused", by, channel, refusal.Error())
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'resolved', resolved_at = ?, outcome = ?,
			note = ?, next_at = 0 WHERE id = ?`, ms(now), string(outcome), note, id); err != nil {
			return err
		}
		tx.changed(alerting.ChangeResolved, id, now, nil)
		return audit(ctx, tx, id, now, "resolved", by, channel, string(outcome))
	})
	if err == nil {
		err = refusal
	}
	a, aerr := s.Alert(ctx, id)
	return a, errors.Join(err, aerr)
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return alerting.ErrNotFound
	}
	return err
}

func audit(ctx context.Context, tx *txn, id int64, at time.Time, what, actor, channel, detail string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit (alert_id, at, what, actor, channel, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		id, ms(at), what, actor, channel, detail)
	return err
}

// RefuseAck records an acknowledgement that was refused, e.g. from someone who was
// not paged about the alert.
func (s *Store) RefuseAck(ctx context.Context, id int64, by, channel, reason string, now time.Time) error {
	return s.tx(ctx, func(tx *txn) error { return audit(ctx, tx, id, now, "ack_refused", by, channel, reason) })
}

// CancelPendingInVillage closes the held alerts of kind in a village before anyone was
// paged (the devices' offline alerts folded into a village outage) and returns how
// many it closed.
func (s *Store) CancelPendingInVillage(ctx context.Context, p alerting.Place, kind alerting.Kind, now time.Time, detail string) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM alerts WHERE county = ? AND township = ? AND village = ?
			AND kind = ? AND state = 'pending'`, p.County, p.Township, p.Village, string(kind))
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE alerts SET state = 'resolved', outcome = ?, resolved_at = ?,
				next_at = 0 WHERE id = ?`, string(alerting.OutcomeGrouped), ms(now), id); err != nil {
				return err
			}
			tx.changed(alerting.ChangeGrouped, id, now, nil)
			if err := audit(ctx, tx, id, now, "grouped", "", "rules", detail); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}
