package postgres

import (
	"context"
	"time"

	"carebed/alerting"
)

// CreateLink records a new link.
func (s *Store) CreateLink(ctx context.Context, l alerting.Link) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO links (id, alert_id, person_id, expires_at) VALUES ($1, $2, $3, $4)`,
		l.ID, l.AlertID, l.PersonID, ms(l.Expires))
	return err
}

// LinkByID returns the link, or alerting.ErrNotFound.
func (s *Store) LinkByID(ctx context.Context, id string) (alerting.Link, error) {
	l := alerting.Link{ID: id}
	var expires, used int64
	err := s.pool.QueryRow(ctx, `SELECT alert_id, person_id, expires_at, used_at FROM links WHERE id = $1`, id).
		Scan(&l.AlertID, &l.PersonID, &expires, &used)
	if err != nil {
		return l, notFound(err)
	}
	l.Expires, l.Used = fromMS(expires), fromMS(used)
	return l, nil
}

// UseLink marks the link used at now, once: a second use gets alerting.ErrLinkUsed,
// a use after its expiry alerting.ErrLinkExpired (both recorded in the alert's audit
// trail). The link's row is locked, so of two taps on two gateways one wins.
func (s *Store) UseLink(ctx context.Context, id string, now time.Time) (alerting.Link, error) {
	var refusal error
	var l alerting.Link
	err := s.tx(ctx, func(tx *txn) error {
		refusal = nil
		l = alerting.Link{ID: id}
		var expires, used int64
		err := tx.QueryRow(ctx, `SELECT alert_id, person_id, expires_at, used_at FROM links WHERE id = $1 FOR UPDATE`, id).
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
		_, err = tx.Exec(ctx, `UPDATE links SET used_at = $1 WHERE id = $2`, ms(now), id)
		l.Used = now
		return err
	})
	if err == nil {
		err = refusal
	}
	return l, err
}
