package postgres

import (
	"context"
	"fmt"
	"time"

	"carebed/alerting"
)

// SeenMessage records that the inbound message sid arrived at at, and reports
// whether it is the first time: false means a replay (or a retry) of a message
// already taken, which must not be acted on again. The sid is the table's primary
// key: of two gateways taking the same reply at once, the second's insert waits for
// the first's commit and then inserts nothing. Sids older than
// alerting.ReplyRetention are forgotten on the way.
func (s *Store) SeenMessage(ctx context.Context, sid string, at time.Time) (first bool, err error) {
	err = s.tx(ctx, func(tx *txn) error {
		if _, err := tx.Exec(ctx, `DELETE FROM sms_seen WHERE at < $1`, ms(at.Add(-alerting.ReplyRetention))); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO sms_seen (sid, at) VALUES ($1, $2) ON CONFLICT (sid) DO NOTHING`,
			sid, ms(at))
		first = err == nil && tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("alert store: message %s: %w", sid, err)
	}
	return first, nil
}

// ForgetMessage forgets sid, so that Twilio's retry of a message the gateway could
// not take (an internal error) is acted on.
func (s *Store) ForgetMessage(ctx context.Context, sid string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sms_seen WHERE sid = $1`, sid); err != nil {
		return fmt.Errorf("alert store: message %s: %w", sid, err)
	}
	return nil
}
