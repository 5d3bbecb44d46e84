package sqlite

import (
	"context"
	"errors"
	"time"

	"carebed/alerting"
)

// CreateLink records a new link.
func (s *Store) CreateLink(ctx context.Context, l alerting.Link) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO links (id, alert_id, person_id, expires_at) VALUES (?, ?, ?, ?)`,
		l.ID, l.AlertID, l.PersonID, ms(l.Expires))
	return err
}

// LinkByID returns the link, or alerting.ErrNotFound.
func (s *Store) LinkByID(ctx context.Context, id string) (alerting.Link, error) {
	l := alerting.Link{ID: id}
	var expires, used int64
	err := s.queryRow(ctx, `SELECT alert_id, person_id, expires_at, used_at FROM links WHERE id = ?`, id).
		Scan(&l.AlertID, &l.PersonID, &expires, &used)
	if err != nil {
		return l, notFound(err)
	}
	l.Expires = fromMS(expires)
	l.Used = fromMS(used)
	return l, nil
}

// UseLink marks the link used at now, once: a second use gets alerting.ErrLinkUsed, a use
// after its expiry alerting.ErrLinkExpired (both recorded in the alert's audit trail).
func (s *Store) UseLink(ctx context.Context, id string, now time.Time) (alerting.Link, error) {
	var refusal error
	var l alerting.Link
	err := s.tx(ctx, func(tx *txn) error {
		var expires, used int64
		l.ID = id
		err := tx.QueryRowContext(ctx, `SELECT alert_id, person_id, expires_at, used_at FROM links WHERE id = ?`, id).
			Scan(&l.AlertID, &l.PersonID, &expires, &used)
		if err != nil {
			return notFound(err)
		}
		l.Expires, l.Used = fromMS(expires), fromMS(used)
		switch {
		case used != 0:
			refusal = alerting.ErrLinkUsed
		case !now.Before(l.Expires):
			refusal = alerting.ErrLinkExpired
		}
		if refusal != nil {
			return audit(ctx, tx, l.AlertID, now, "link_refused", l.PersonID, "link", refusal.Error())
		}
		_, err = tx.ExecContext(ctx, `UPDATE links SET used_at = ? WHERE id = ?`, ms(now), id)
		l.Used = now
		return err
	})
	if err == nil {
		err = refusal
	}
	return l, err
}

// HandOver passes an acknowledged alert from by to the person to (ids), recording it.
func (s *Store) HandOver(ctx context.Context, id int64, by, to, channel string, now time.Time) (alerting.Alert, error) {
	err := s.tx(ctx, func(tx *txn) error {
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM alerts WHERE id = ?`, id).Scan(&state); err != nil {
			return notFound(err)
		}
		if alerting.State(state) != alerting.StateAcknowledged {
			return alerting.ErrNotAcknowledged
		}
		if _, err := tx.ExecContext(ctx, `UPDATE alerts SET acked_by = ? WHERE id = ?`, to, id); err != nil {
			return err
		}
		tx.changed(alerting.ChangeHandedOver, id, now, nil)
		return audit(ctx, tx, id, now, "handed_over", by, channel, "to "+to)
	})
	a, aerr := s.Alert(ctx, id)
	return a, errors.Join(err, aerr)
}
