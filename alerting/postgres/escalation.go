package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"carebed/alerting"
)

// DueSteps returns alerts whose next step is due at now, oldest first.
func (s *Store) DueSteps(ctx context.Context, now time.Time) ([]alerting.Due, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+alertCols+`, next_step, next_at FROM alerts
		WHERE next_at <> 0 AND next_at <= $1 AND state IN ('pending', 'open', 'notified')
		ORDER BY next_at, id`, ms(now))
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r pgx.CollectableRow) (alerting.Due, error) {
		var d alerting.Due
		var at int64
		a, err := scanAlert(r, &d.Step, &at)
		d.Alert, d.At = a, fromMS(at)
		return d, err
	})
}

// NextDue returns when the earliest pending step is due (zero when none is).
func (s *Store) NextDue(ctx context.Context) (time.Time, error) {
	var at *int64
	err := s.pool.QueryRow(ctx, `SELECT MIN(next_at) FROM alerts WHERE next_at <> 0
		AND state IN ('pending', 'open', 'notified')`).Scan(&at)
	if err != nil || at == nil {
		return time.Time{}, err
	}
	return fromMS(*at), nil
}

// ClaimStep records, in one transaction, that steps from..through of the alert are
// being sent (with their attempts, status queued and Tries 1: in flight; each attempt
// names its step) and schedules the next step at nextAt (zero: none). A held alert
// becomes open. The claim is one conditional UPDATE: of two gateways claiming the
// same step at once, the second waits for the first's commit, finds next_step moved
// on and gets alerting.ErrClaimed, changing nothing: no step is ever sent twice. The
// attempts come back with their ids.
func (s *Store) ClaimStep(ctx context.Context, id int64, from, through int, nextAt, now time.Time, attempts []alerting.Attempt) ([]alerting.Attempt, error) {
	err := s.tx(ctx, func(tx *txn) error {
		tag, err := tx.Exec(ctx, `UPDATE alerts SET next_step = $1, next_at = $2,
			state = CASE state WHEN 'pending' THEN 'open' ELSE state END
			WHERE id = $3 AND next_step = $4 AND state IN ('pending', 'open', 'notified')`,
			through+1, ms(nextAt), id, from)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return alerting.ErrClaimed
		}
		for i := range attempts {
			a := &attempts[i]
			a.AlertID, a.CreatedAt, a.Status, a.Tries = id, now, "queued", 1
			if err := tx.QueryRow(ctx, `INSERT INTO attempts (alert_id, step, person_id, channel, purpose,
				created_at, status, tries) VALUES ($1, $2, $3, $4, $5, $6, 'queued', 1) RETURNING id`,
				id, a.Step, a.PersonID, a.Channel, a.Purpose, ms(now)).Scan(&a.ID); err != nil {
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
// inserted again; it comes back with the id of the row already there.
func (s *Store) AddAttempts(ctx context.Context, id int64, now time.Time, attempts []alerting.Attempt) ([]alerting.Attempt, error) {
	err := s.tx(ctx, func(tx *txn) error {
		for i := range attempts {
			a := &attempts[i]
			a.AlertID, a.CreatedAt, a.Status, a.Tries = id, now, "queued", 1
			err := tx.QueryRow(ctx, `INSERT INTO attempts (alert_id, step, person_id, channel,
				purpose, created_at, status, tries) VALUES ($1, $2, $3, $4, $5, $6, 'queued', 1)
				ON CONFLICT (alert_id, step, person_id, channel, purpose) DO NOTHING RETURNING id`,
				id, a.Step, a.PersonID, a.Channel, a.Purpose, ms(now)).Scan(&a.ID)
			if errors.Is(err, pgx.ErrNoRows) {
				err = tx.QueryRow(ctx, `SELECT id FROM attempts WHERE alert_id = $1 AND step = $2
					AND person_id = $3 AND channel = $4 AND purpose = $5`,
					id, a.Step, a.PersonID, a.Channel, a.Purpose).Scan(&a.ID)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	return attempts, err
}

// FinishAttempt records the result of an attempt; the first successful page marks
// the alert notified, and only for that one notified is true (a conditional UPDATE:
// of two gateways finishing pages at once, one marks it).
func (s *Store) FinishAttempt(ctx context.Context, a alerting.Attempt, now time.Time) (notified bool, err error) {
	err = s.tx(ctx, func(tx *txn) error {
		notified = false
		if _, err := tx.Exec(ctx, `UPDATE attempts SET status = $1, provider_id = $2, error = $3, tries = $4
			WHERE id = $5`, a.Status, a.ProviderID, a.Error, a.Tries, a.ID); err != nil {
			return err
		}
		if a.Status == "sent" && a.Purpose == "page" {
			tag, err := tx.Exec(ctx, `UPDATE alerts SET notified_at = $1, state = 'notified'
				WHERE id = $2 AND state = 'open'`, ms(now), a.AlertID)
			if err != nil {
				return err
			}
			notified = tag.RowsAffected() == 1
		}
		tx.changed(alerting.ChangeAttempt, a.AlertID, now, &a)
		if notified {
			tx.changed(alerting.ChangeNotified, a.AlertID, now, nil)
		}
		return audit(ctx, tx, a.AlertID, now, "notification_"+a.Status, a.PersonID, a.Channel, a.Purpose+" "+a.Error)
	})
	return notified && err == nil, err
}

const attemptCols = `id, alert_id, step, person_id, channel, purpose, created_at, status, provider_id, error, tries`

func scanAttempt(r pgx.Row) (alerting.Attempt, error) {
	var a alerting.Attempt
	var created int64
	err := r.Scan(&a.ID, &a.AlertID, &a.Step, &a.PersonID, &a.Channel, &a.Purpose, &created,
		&a.Status, &a.ProviderID, &a.Error, &a.Tries)
	a.CreatedAt = fromMS(created)
	return a, err
}

// DeliveryStatus records a provider's delivery receipt for the attempt with that
// provider id and returns the attempt (alerting.ErrNotFound when unknown).
func (s *Store) DeliveryStatus(ctx context.Context, providerID, status, detail string, now time.Time) (alerting.Attempt, error) {
	var a alerting.Attempt
	err := s.tx(ctx, func(tx *txn) error {
		var err error
		a, err = scanAttempt(tx.QueryRow(ctx, `SELECT `+attemptCols+` FROM attempts WHERE provider_id = $1
			ORDER BY id LIMIT 1 FOR UPDATE`, providerID))
		if err != nil {
			return notFound(err)
		}
		a.Status, a.Error = status, detail
		if _, err := tx.Exec(ctx, `UPDATE attempts SET status = $1, error = $2 WHERE id = $3`, status, detail, a.ID); err != nil {
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
// by the claim that queues it, in the claim's own commit.
func (s *Store) QueuedAttempts(ctx context.Context) ([]alerting.Attempt, error) {
	return s.attempts(ctx, `WHERE status = 'queued' ORDER BY id`)
}

// LatestFinished returns the latest attempt on channel that has an outcome (not
// queued, nor skipped by a limit), if it was made since since; else
// alerting.ErrNotFound. The duty console uses it to warn when SMS are failing.
func (s *Store) LatestFinished(ctx context.Context, channel string, since time.Time) (alerting.Attempt, error) {
	as, err := s.attempts(ctx, `WHERE channel = $1 AND status NOT IN ('queued', 'skipped') ORDER BY id DESC LIMIT 1`, channel)
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
	return s.attempts(ctx, `WHERE alert_id = $1 ORDER BY id`, alertID)
}

func (s *Store) attempts(ctx context.Context, where string, args ...any) ([]alerting.Attempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+attemptCols+` FROM attempts `+where, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r pgx.CollectableRow) (alerting.Attempt, error) { return scanAttempt(r) })
}

// Audit returns an alert's audit trail in order.
func (s *Store) Audit(ctx context.Context, alertID int64) ([]alerting.AuditRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, what, actor, channel, detail FROM audit
		WHERE alert_id = $1 ORDER BY id`, alertID)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r pgx.CollectableRow) (alerting.AuditRow, error) {
		var a alerting.AuditRow
		var at int64
		err := r.Scan(&at, &a.What, &a.Actor, &a.Channel, &a.Detail)
		a.At = fromMS(at)
		return a, err
	})
}

// Reschedule moves the due step of an alert to at (quiet hours, or a failed
// delivery that should bring the next step forward). It changes nothing when the
// alert has moved on to another step. It is a write transaction like the others, so
// the fence (Options.Fence) applies to it too.
func (s *Store) Reschedule(ctx context.Context, id int64, step int, at time.Time) error {
	return s.tx(ctx, func(tx *txn) error {
		_, err := tx.Exec(ctx, `UPDATE alerts SET next_at = $1 WHERE id = $2 AND next_step = $3
			AND state IN ('pending', 'open', 'notified')`, ms(at), id, step)
		return err
	})
}

// NextStep returns the index of the alert's next step and when it is due.
func (s *Store) NextStep(ctx context.Context, id int64) (int, time.Time, error) {
	var step int
	var at int64
	err := s.pool.QueryRow(ctx, `SELECT next_step, next_at FROM alerts WHERE id = $1`, id).Scan(&step, &at)
	return step, fromMS(at), notFound(err)
}

// LatestPagedTo returns the newest alert, not yet acknowledged or resolved, that the
// person was paged about: what an SMS reply of "1" refers to. alerting.ErrNotFound if
// none. It returns the id among personIDs that was paged.
func (s *Store) LatestPagedTo(ctx context.Context, personIDs ...string) (alerting.Alert, string, error) {
	if len(personIDs) == 0 {
		return alerting.Alert{}, "", alerting.ErrNotFound
	}
	var who string
	a, err := scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertColsQualified+`, t.person_id FROM alerts a
		JOIN attempts t ON t.alert_id = a.id
		WHERE t.person_id = ANY($1) AND t.purpose = 'page'
		AND a.state IN ('open', 'notified')
		ORDER BY a.opened_at DESC, a.id DESC LIMIT 1`, personIDs), &who)
	return a, who, notFound(err)
}

// OpenNoted returns the alerts not yet resolved with an audit row what, newest first.
func (s *Store) OpenNoted(ctx context.Context, what string) ([]alerting.Alert, error) {
	return s.alerts(ctx, `SELECT `+alertCols+` FROM alerts a WHERE state <> 'resolved'
		AND EXISTS (SELECT 1 FROM audit WHERE alert_id = a.id AND what = $1)
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
