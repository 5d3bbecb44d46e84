package sqlite

import (
	"context"
	"fmt"
	"time"

	"carebed/alerting"
)

// messageSchema is the table of SMS replies already taken, executed at Open.
const messageSchema = `
CREATE TABLE IF NOT EXISTS sms_seen (
	sid TEXT PRIMARY KEY,
	at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sms_seen_at ON sms_seen(at);
`

// SeenMessage records that the inbound message sid arrived at at, and reports
// whether it is the first time: false means a replay (or a retry) of a message
// already taken, which must not be acted on again. Sids older than
// alerting.ReplyRetention are forgotten on the way.
func (s *Store) SeenMessage(ctx context.Context, sid string, at time.Time) (first bool, err error) {
	err = s.tx(ctx, func(tx *txn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sms_seen WHERE at < ?`, ms(at.Add(-alerting.ReplyRetention))); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO sms_seen (sid, at) VALUES (?, ?) ON CONFLICT (sid) DO NOTHING`,
			sid, ms(at))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
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
	if _, err := s.db.ExecContext(ctx, `DELETE FROM sms_seen WHERE sid = ?`, sid); err != nil {
		return fmt.Errorf("alert store: message %s: %w", sid, err)
	}
	return nil
}
