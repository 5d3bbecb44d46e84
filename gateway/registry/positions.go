package registry

import (
	"context"
	"fmt"
	"time"
)

// Position is a device's last known position (migration 6, table positions). It is
// personal data: never logged, shown only to the people of the device's township.
type Position struct {
	Lat, Lon float64   // WGS-84 degrees
	AccM     float64   // accuracy radius, metres
	At       time.Time // when the fix was taken
	Received time.Time // when the gateway took in the message that carried it
}

// SavePositions stores each device's position unless the stored one was taken later.
func (s *Store) SavePositions(ctx context.Context, ps map[string]Position) error {
	if len(ps) == 0 {
		return nil
	}
	tx, err := s.db.BeginWrite(ctx)
	if err != nil {
		return fmt.Errorf("registry: save positions: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO positions (device, lat, lon, acc_m, fix_ms, received_ms)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (device) DO UPDATE SET lat = excluded.lat, lon = excluded.lon, acc_m = excluded.acc_m,
			fix_ms = excluded.fix_ms, received_ms = excluded.received_ms
		WHERE excluded.fix_ms >= positions.fix_ms`)
	if err != nil {
		return fmt.Errorf("registry: save positions: %w", err)
	}
	defer stmt.Close()
	for dev, p := range ps {
		if _, err := stmt.ExecContext(ctx, dev, p.Lat, p.Lon, p.AccM, p.At.UnixMilli(), p.Received.UnixMilli()); err != nil {
			return fmt.Errorf("registry: save positions: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("registry: save positions: %w", err)
	}
	return nil
}

// Positions returns every device's last known position.
func (s *Store) Positions(ctx context.Context) (map[string]Position, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT device, lat, lon, acc_m, fix_ms, received_ms FROM positions`)
	if err != nil {
		return nil, fmt.Errorf("registry: positions: %w", err)
	}
	defer rows.Close()
	out := make(map[string]Position)
	for rows.Next() {
		var dev string
		var p Position
		var fixMS, recMS int64
		if err := rows.Scan(&dev, &p.Lat, &p.Lon, &p.AccM, &fixMS, &recMS); err != nil {
			return nil, fmt.Errorf("registry: positions: %w", err)
		}
		p.At, p.Received = time.UnixMilli(fixMS), time.UnixMilli(recMS)
		out[dev] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: positions: %w", err)
	}
	return out, nil
}
