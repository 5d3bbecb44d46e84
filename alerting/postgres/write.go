package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"carebed/alerting"
)

// raiseTries bounds Raise's loop: each turn either finds the open alert (locked) or
// inserts one; a turn is lost only when another gateway opened the alert or closed it
// between the two, which cannot go on.
const raiseTries = 5

// Raise opens the alert, or counts a repeat of the open alert of the same home and
// kind. It reports whether a new alert was opened. Two gateways raising the same
// alert at once open one: the second's insert meets the unique index of open alerts,
// waits for the first to commit, and then counts a repeat.
func (s *Store) Raise(ctx context.Context, r alerting.Raise) (a alerting.Alert, created bool, err error) {
	err = s.tx(ctx, func(tx *txn) error {
		created = false
		id, err := raiseOne(ctx, tx, r, &created)
		if err != nil {
			return err
		}
		// Read it back in the same transaction: another writer may close it the
		// moment this one commits (a village outage folding held alerts).
		a, err = scanAlert(tx.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, id))
		return err
	})
	if err != nil {
		return a, false, fmt.Errorf("raise %s alert: %w", r.Kind, err)
	}
	return a, created, nil
}

// raiseOne counts a repeat of the open alert (locked first) or inserts a new one.
func raiseOne(ctx context.Context, tx *txn, r alerting.Raise, created *bool) (int64, error) {
	for range raiseTries {
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM alerts WHERE home = $1 AND kind = $2 AND state <> 'resolved'
			FOR UPDATE`, r.Place.Home, string(r.Kind)).Scan(&id)
		switch {
		case err == nil:
			if _, err := tx.Exec(ctx, `UPDATE alerts SET repeats = repeats + $2 WHERE id = $1`, id, r.ReportCount()); err != nil {
				return 0, err
			}
			return id, audit(ctx, tx, id, r.Now, "repeat", r.Device, "device", r.Detail)
		case !errors.Is(err, pgx.ErrNoRows):
			return 0, err
		}
		id, err = insertAlert(ctx, tx, r)
		if err != nil {
			return 0, err
		}
		if id == 0 {
			continue // another writer opened it meanwhile: count a repeat of theirs
		}
		*created = true
		what, change := "raised", alerting.ChangeRaised
		if !r.HoldUntil.IsZero() {
			what, change = "raised_held", alerting.ChangeHeld
		}
		tx.changed(change, id, r.Now, nil)
		return id, audit(ctx, tx, id, r.Now, what, r.Device, "device", r.Detail)
	}
	return 0, errors.New("the open alert kept changing under this raise")
}

// insertAlert inserts the alert and returns its id, or 0 when an open alert of the
// same home and kind was committed meanwhile. A code already taken is drawn again,
// each try in a savepoint (a failed statement would abort the transaction).
func insertAlert(ctx context.Context, tx *txn, r alerting.Raise) (int64, error) {
	state, due := alerting.StateOpen, r.Now
	if !r.HoldUntil.IsZero() {
		state, due = alerting.StatePending, r.HoldUntil
	}
	for range 10 { // a new code until it is unique
		var id int64
		err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
			return sp.QueryRow(ctx, `INSERT INTO alerts (code, kind, severity, state, county, township,
				village, home, device, event_at, late_ms, opened_at, hold_until, next_step, next_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14)
				ON CONFLICT (home, kind) WHERE state <> 'resolved' DO NOTHING RETURNING id`,
				newCode(), string(r.Kind), string(r.Sev), string(state), r.Place.County, r.Place.Township,
				r.Place.Village, r.Place.Home, r.Device, ms(r.EventAt), r.LateBy.Milliseconds(), ms(r.Now),
				ms(r.HoldUntil), ms(due)).Scan(&id)
		})
		var pe *pgconn.PgError
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return 0, nil
		case errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "alerts_code_key":
			continue
		case err != nil:
			return 0, err
		}
		return id, nil
	}
	return 0, errors.New("no free alert code")
}

// CancelPending closes the pending (held) alert of a home and kind before anyone was
// paged. It reports false when there is no such alert (none, or already paged).
func (s *Store) CancelPending(ctx context.Context, home string, kind alerting.Kind, now time.Time, device, detail string) (bool, error) {
	var done bool
	err := s.tx(ctx, func(tx *txn) error {
		done = false
		var id int64
		err := tx.QueryRow(ctx, `SELECT id FROM alerts WHERE home = $1 AND kind = $2 AND state = 'pending'
			FOR UPDATE`, home, string(kind)).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET state = 'resolved', outcome = $1, resolved_at = $2,
			next_at = 0 WHERE id = $3`, string(alerting.OutcomeCancelled), ms(now), id); err != nil {
			return err
		}
		done = true
		tx.changed(alerting.ChangeCancelled, id, now, nil)
		return audit(ctx, tx, id, now, "cancelled", device, "device", detail)
	})
	return done, err
}

// lockState locks alert id and returns its state; alerting.ErrNotFound if none.
func lockState(ctx context.Context, tx *txn, id int64) (alerting.State, error) {
	var state string
	err := tx.QueryRow(ctx, `SELECT state FROM alerts WHERE id = $1 FOR UPDATE`, id).Scan(&state)
	return alerting.State(state), notFound(err)
}

// Ack records that by (a person id) takes the alert through channel. The first
// acknowledgement wins (the row is locked: of two gateways acknowledging at once, the
// second sees the first's commit); later ones get alerting.ErrAcknowledged, a
// resolved alert alerting.ErrResolved. The refusal is in the audit trail too.
func (s *Store) Ack(ctx context.Context, id int64, by, channel string, now time.Time) (alerting.Alert, error) {
	var refusal error
	err := s.tx(ctx, func(tx *txn) error {
		refusal = nil
		state, err := lockState(ctx, tx, id)
		if err != nil {
			return err
		}
		switch state {
		case alerting.StateResolved:
			refusal = alerting.ErrResolved
		case alerting.StateAcknowledged:
			refusal = alerting.ErrAcknowledged
		}
		if refusal != nil {
			return audit(ctx, tx, id, now, "ack_refused", by, channel, refusal.Error())
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET state = 'acknowledged', acked_at = $1, acked_by = $2,
			ack_channel = $3, next_at = 0 WHERE id = $4`, ms(now), by, channel, id); err != nil {
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
		refusal = nil
		state, err := lockState(ctx, tx, id)
		if err != nil {
			return err
		}
		if state == alerting.StateResolved {
			refusal = alerting.ErrResolved
			return audit(ctx, tx, id, now, "resolve_refused", by, channel, refusal.Error())
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET state = 'resolved', resolved_at = $1, outcome = $2,
			note = $3, next_at = 0 WHERE id = $4`, ms(now), string(outcome), note, id); err != nil {
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

// HandOver passes an acknowledged alert from by to the person to (ids), recording it.
func (s *Store) HandOver(ctx context.Context, id int64, by, to, channel string, now time.Time) (alerting.Alert, error) {
	err := s.tx(ctx, func(tx *txn) error {
		state, err := lockState(ctx, tx, id)
		if err != nil {
			return err
		}
		if state != alerting.StateAcknowledged {
			return alerting.ErrNotAcknowledged
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET acked_by = $1 WHERE id = $2`, to, id); err != nil {
			return err
		}
		tx.changed(alerting.ChangeHandedOver, id, now, nil)
		return audit(ctx, tx, id, now, "handed_over", by, channel, "to "+to)
	})
	a, aerr := s.Alert(ctx, id)
	return a, errors.Join(err, aerr)
}

// RefuseAck records an acknowledgement that was refused, e.g. from someone who was
// not paged about the alert.
func (s *Store) RefuseAck(ctx context.Context, id int64, by, channel, reason string, now time.Time) error {
	return s.tx(ctx, func(tx *txn) error { return audit(ctx, tx, id, now, "ack_refused", by, channel, reason) })
}

// CancelPendingInVillage closes the held alerts of kind in a village before anyone was
// paged (the devices' offline alerts folded into a village outage) and returns how
// many it closed. The alerts are locked in id order, so two writers cannot deadlock.
func (s *Store) CancelPendingInVillage(ctx context.Context, p alerting.Place, kind alerting.Kind, now time.Time, detail string) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *txn) error {
		rows, err := tx.Query(ctx, `SELECT id FROM alerts WHERE county = $1 AND township = $2 AND village = $3
			AND kind = $4 AND state = 'pending' ORDER BY id FOR UPDATE`, p.County, p.Township, p.Village, string(kind))
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.Exec(ctx, `UPDATE alerts SET state = 'resolved', outcome = $1, resolved_at = $2,
				next_at = 0 WHERE id = $3`, string(alerting.OutcomeGrouped), ms(now), id); err != nil {
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

// Note adds a row to an alert's audit trail outside any other change: what the
// escalation did about a step that paged nobody, or what it found at the provider
// about a notification a crash interrupted. actor and channel may be empty.
func (s *Store) Note(ctx context.Context, alertID int64, now time.Time, what, actor, channel, detail string) error {
	return s.tx(ctx, func(tx *txn) error { return audit(ctx, tx, alertID, now, what, actor, channel, detail) })
}

// DeviceCancelled records a cancel from the alert's device after paging; the alert
// stays as it is.
func (s *Store) DeviceCancelled(ctx context.Context, id int64, now time.Time, device, detail string) error {
	return s.tx(ctx, func(tx *txn) error {
		tx.changed(alerting.ChangeDeviceCancelled, id, now, nil)
		return audit(ctx, tx, id, now, "device_cancelled", device, "device", detail)
	})
}
