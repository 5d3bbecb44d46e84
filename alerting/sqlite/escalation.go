package sqlite

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"carebed/alerting"
)

// DueSteps returns alerts whose next step is due at now, oldest first.
func (s *Store) DueSteps(ctx context.Context, now time.Time) ([]alerting.Due, error) {
	rows, err := s.query(ctx, `SELECT `+alertCols+`, next_step, next_at FROM alerts
		WHERE next_at != 0 AND next_at <= ? AND state IN ('pending', 'open', 'notified')
		ORDER BY next_at`, ms(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.Due
	for rows.Next() {
		var d alerting.Due
		var at int64
		a, err := scanAlert(rows, &d.Step, &at)
		if err != nil {
			return nil, err
		}
		d.Alert, d.At = a, fromMS(at)
		out = append(out, d)
	}
	return out, rows.Err()
}

// NextDue returns when the earliest pending step is due (zero when none is).
func (s *Store) NextDue(ctx context.Context) (time.Time, error) {
	var at sql.NullInt64
	err := s.queryRow(ctx, `SELECT MIN(next_at) FROM alerts WHERE next_at != 0
		AND state IN ('pending', 'open', 'notified')`).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, err
	}
	return fromMS(at.Int64), nil
}

// ClaimStep records, in one transaction, that steps from..through of the alert are
// being sent (with their attempts, status queued; each attempt names its step) and
// schedules the next step at nextAt (zero: none). Several steps are claimed at once
// when they fell due together (after a restart). A held alert becomes open. If from
// is no longer the alert's next step (a restart, or a second timer got there first)
// it returns alerting.ErrClaimed and changes nothing: no step is ever sent twice. The attempts
// come back with their ids.
func (s *Store) ClaimStep(ctx context.Context, id int64, from, through int, nextAt, now time.Time, attempts []alerting.Attempt) ([]alerting.Attempt, error) {
	err := s.tx(ctx, func(tx *txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE alerts SET next_step = ?, next_at = ?,
			state = CASE state WHEN 'pending' THEN 'open' ELSE state END
			WHERE id = ? AND next_step = ? AND state IN ('pending', 'open', 'notified')`,
			through+1, ms(nextAt), id, from)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return alerting.ErrClaimed
		}
		for i := range attempts {
			a := &attempts[i]
			a.AlertID, a.CreatedAt, a.Status, a.Tries = id, now, "queued", 1
			r, err := tx.ExecContext(ctx, `INSERT INTO attempts (alert_id, step, person_id, channel, purpose,
				created_at, status, tries) VALUES (?, ?, ?, ?, ?, ?, 'queued', 1)`,
				id, a.Step, a.PersonID, a.Channel, a.Purpose, ms(now))
			if err != nil {
				return err
			}
			if a.ID, err = r.LastInsertId(); err != nil {
				return err
			}
		}
		return audit(ctx, tx, id, now, "escalation_step", "", "", stepDetail(from, through, len(attempts)))
	})
	return attempts, err
}

func stepDetail(from, through, n int) string {
	steps := "step " + strconv.Itoa(through)
	if through != from {
		steps = "steps " + strconv.Itoa(from) + "-" + strconv.Itoa(through)
	}
	return steps + ": " + strconv.Itoa(n) + " notifications"
}

// AddAttempts records notifications outside the ladder (the 'taken by' notices). An
// attempt already recorded (same alert, step, person, channel and purpose) is not
// inserted again; it comes back with the id of the row already there (SQLite's last
// insert id would be whatever row this connection inserted before).
func (s *Store) AddAttempts(ctx context.Context, id int64, now time.Time, attempts []alerting.Attempt) ([]alerting.Attempt, error) {
	err := s.tx(ctx, func(tx *txn) error {
		for i := range attempts {
			a := &attempts[i]
			a.AlertID, a.CreatedAt, a.Status, a.Tries = id, now, "queued", 1
			r, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO attempts (alert_id, step, person_id, channel,
				purpose, created_at, status, tries) VALUES (?, ?, ?, ?, ?, ?, 'queued', 1)`,
				id, a.Step, a.PersonID, a.Channel, a.Purpose, ms(now))
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			if err != nil {
				return err
			}
			if n == 1 {
				if a.ID, err = r.LastInsertId(); err != nil {
					return err
				}
				continue
			}
			if err := tx.QueryRowContext(ctx, `SELECT id FROM attempts WHERE alert_id = ? AND step = ?
				AND person_id = ? AND channel = ? AND purpose = ?`,
				id, a.Step, a.PersonID, a.Channel, a.Purpose).Scan(&a.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return attempts, err
}

// FinishAttempt records the result of an attempt; the first successful page marks
// the alert notified, and only for that one notified is true.
func (s *Store) FinishAttempt(ctx context.Context, a alerting.Attempt, now time.Time) (notified bool, err error) {
	err = s.tx(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `UPDATE attempts SET status = ?, provider_id = ?, error = ?, tries = ?
			WHERE id = ?`, a.Status, a.ProviderID, a.Error, a.Tries, a.ID); err != nil {
			return err
		}
		if a.Status == "sent" && a.Purpose == "page" {
			res, err := tx.ExecContext(ctx, `UPDATE alerts SET notified_at = ?, state = 'notified'
				WHERE id = ? AND state = 'open'`, ms(now), a.AlertID)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			notified = n == 1
		}
		tx.changed(alerting.ChangeAttempt, a.AlertID, now, &a)
		if notified {
			tx.changed(alerting.ChangeNotified, a.AlertID, now, nil)
		}
		return audit(ctx, tx, a.AlertID, now, "notification_"+a.Status, a.PersonID, a.Channel, a.Purpose+" "+a.Error)
	})
	return notified && err == nil, err
}

// DeliveryStatus records a provider's delivery receipt for the attempt with that
// provider id and returns the attempt (alerting.ErrNotFound when unknown).
func (s *Store) DeliveryStatus(ctx context.Context, providerID, status, detail string, now time.Time) (alerting.Attempt, error) {
	var a alerting.Attempt
	err := s.tx(ctx, func(tx *txn) error {
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT id, alert_id, step, person_id, channel, purpose, created_at,
			status, provider_id, error, tries FROM attempts WHERE provider_id = ?`, providerID).Scan(
			&a.ID, &a.AlertID, &a.Step, &a.PersonID, &a.Channel, &a.Purpose, &created, &a.Status,
			&a.ProviderID, &a.Error, &a.Tries)
		if err != nil {
			return notFound(err)
		}
		a.CreatedAt, a.Status, a.Error = fromMS(created), status, detail
		if _, err := tx.ExecContext(ctx, `UPDATE attempts SET status = ?, error = ? WHERE id = ?`, status, detail, a.ID); err != nil {
			return err
		}
		att := a
		tx.changed(alerting.ChangeDelivery, a.AlertID, now, &att)
		return audit(ctx, tx, a.AlertID, now, "delivery_"+status, a.PersonID, a.Channel, detail)
	})
	return a, err
}

// QueuedAttempts returns attempts claimed but not finished: after a crash they are
// sent again (a page is better twice than never), once the provider, when it can be
// asked, says it does not have them. Every attempt is recorded in flight (Tries 1)
// by the claim that queues it, in the claim's own commit, so the call needs no
// commit of its own; rows of gateways before that have Tries 0.
func (s *Store) QueuedAttempts(ctx context.Context) ([]alerting.Attempt, error) {
	return s.attempts(ctx, `WHERE status = 'queued' ORDER BY id`)
}

// LatestFinished returns the latest attempt on channel that has an outcome (not
// queued, nor skipped by a limit), if it was made since since; else alerting.ErrNotFound.
// The duty console uses it to warn when SMS are failing.
func (s *Store) LatestFinished(ctx context.Context, channel string, since time.Time) (alerting.Attempt, error) {
	as, err := s.attempts(ctx, `WHERE channel = ? AND status NOT IN ('queued', 'skipped') ORDER BY id DESC LIMIT 1`, channel)
	switch {
	case err != nil:
		return alerting.Attempt{}, err
	case len(as) == 0 || as[0].CreatedAt.Before(since):
		return alerting.Attempt{}, alerting.ErrNotFound
	}
	return as[0], nil
}

// Attempts returns the attempts of one alert in order.
func (s *Store) Attempts(ctx context.Context, alertID int64) ([]alerting.Attempt, error) {
	return s.attempts(ctx, `WHERE alert_id = ? ORDER BY id`, alertID)
}

func (s *Store) attempts(ctx context.Context, where string, args ...any) ([]alerting.Attempt, error) {
	rows, err := s.query(ctx, `SELECT id, alert_id, step, person_id, channel, purpose, created_at,
		status, provider_id, error, tries FROM attempts `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.Attempt
	for rows.Next() {
		var a alerting.Attempt
		var created int64
		if err := rows.Scan(&a.ID, &a.AlertID, &a.Step, &a.PersonID, &a.Channel, &a.Purpose, &created,
			&a.Status, &a.ProviderID, &a.Error, &a.Tries); err != nil {
			return nil, err
		}
		a.CreatedAt = fromMS(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Audit returns an alert's audit trail in order.
func (s *Store) Audit(ctx context.Context, alertID int64) ([]alerting.AuditRow, error) {
	rows, err := s.query(ctx, `SELECT at, what, actor, channel, detail FROM audit
		WHERE alert_id = ? ORDER BY id`, alertID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.AuditRow
	for rows.Next() {
		var r alerting.AuditRow
		var at int64
		if err := rows.Scan(&at, &r.What, &r.Actor, &r.Channel, &r.Detail); err != nil {
			return nil, err
		}
		r.At = fromMS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Reschedule moves the due step of an alert to at (quiet hours, or a failed
// delivery that should bring the next step forward). It changes nothing when the
// alert has moved on to another step.
func (s *Store) Reschedule(ctx context.Context, id int64, step int, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE alerts SET next_at = ? WHERE id = ? AND next_step = ?
		AND state IN ('pending', 'open', 'notified')`, ms(at), id, step)
	return err
}

// NextStep returns the index of the alert's next step and when it is due.
func (s *Store) NextStep(ctx context.Context, id int64) (int, time.Time, error) {
	var step int
	var at int64
	err := s.queryRow(ctx, `SELECT next_step, next_at FROM alerts WHERE id = ?`, id).Scan(&step, &at)
	return step, fromMS(at), notFound(err)
}

// LatestPagedTo returns the newest alert, not yet acknowledged or resolved, that the
// person was paged about: what an SMS reply of "1" refers to. alerting.ErrNotFound if none.
// It returns the id among personIDs that was paged.
func (s *Store) LatestPagedTo(ctx context.Context, personIDs ...string) (alerting.Alert, string, error) {
	if len(personIDs) == 0 {
		return alerting.Alert{}, "", alerting.ErrNotFound
	}
	args := make([]any, len(personIDs))
	for i, id := range personIDs {
		args[i] = id
	}
	var who string
	a, err := scanAlert(s.queryRow(ctx, `SELECT `+alertColsQualified+`, t.person_id FROM alerts a
		JOIN attempts t ON t.alert_id = a.id
		WHERE t.person_id IN (?`+strings.Repeat(", ?", len(personIDs)-1)+`) AND t.purpose = 'page'
		AND a.state IN ('open', 'notified')
		ORDER BY a.opened_at DESC, a.id DESC LIMIT 1`, args...), &who)
	return a, who, notFound(err)
}

// OpenNoted returns the alerts not yet resolved with an audit row what, newest first.
// It looks at open alerts only (few), each through the audit trail's index.
func (s *Store) OpenNoted(ctx context.Context, what string) ([]alerting.Alert, error) {
	return s.alerts(ctx, `SELECT `+alertCols+` FROM alerts a WHERE state != 'resolved'
		AND EXISTS (SELECT 1 FROM audit WHERE alert_id = a.id AND what = ?)
		ORDER BY opened_at DESC, id DESC`, what)
}

// PagedAbout reports which of personIDs was paged about the alert ("" if none).
func (s *Store) PagedAbout(ctx context.Context, alertID int64, personIDs ...string) (string, error) {
	atts, err := s.Attempts(ctx, alertID)
	if err != nil {
		return "", err
	}
	for _, a := range atts {
		for _, id := range personIDs {
			if a.PersonID == id && a.Purpose == "page" {
				return id, nil
			}
		}
	}
	return "", nil
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
