package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// SaveConditions writes the alert rules' per-device condition state (opaque to the
// store), one transaction for all, sent as one batch.
func (s *Store) SaveConditions(ctx context.Context, states map[string][]byte) error {
	now := time.Now().UnixMilli()
	return s.tx(ctx, func(tx *txn) error {
		var b pgx.Batch
		for device, state := range states {
			b.Queue(`INSERT INTO device_conditions (device, state, saved_at) VALUES ($1, $2, $3)
				ON CONFLICT (device) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at`,
				device, state, now)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
}

// LoadConditions returns what SaveConditions wrote, by device.
func (s *Store) LoadConditions(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT device, state FROM device_conditions`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var device string
		var b []byte
		if err := rows.Scan(&device, &b); err != nil {
			return nil, err
		}
		out[device] = b
	}
	return out, rows.Err()
}
