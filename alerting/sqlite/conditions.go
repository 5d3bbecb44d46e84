package sqlite

import (
	"context"
	"time"
)

// SaveConditions writes the alert rules' per-device condition state (opaque to the
// store), one transaction for all.
func (s *Store) SaveConditions(ctx context.Context, states map[string][]byte) error {
	now := time.Now().UnixMilli()
	return s.tx(ctx, func(tx *txn) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO device_conditions (device, state, saved_at) VALUES (?, ?, ?)
			ON CONFLICT(device) DO UPDATE SET state = excluded.state, saved_at = excluded.saved_at`)
		if err != nil {
			return err
		}
		defer st.Close()
		for device, b := range states {
			if _, err := st.ExecContext(ctx, device, b, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// LoadConditions returns what SaveConditions wrote, by device.
func (s *Store) LoadConditions(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.query(ctx, `SELECT device, state FROM device_conditions`)
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
