package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Home is what the duty console shows of a home: its place, elder, address,
// coordinates (0 when the ledger has none), devices and the people to reach. It is
// personal data: shown to signed-in staff of the home's area, never logged.
type Home struct {
	Place    Place
	Elder    string
	Address  string
	Lat, Lon float64
	Devices  []Device
	People   []Person
}

// Home returns the home with this ledger id, or an error wrapping ErrNotFound.
func (s *Store) Home(ctx context.Context, id string) (Home, error) {
	h := Home{Place: Place{Home: id}}
	var lat, lon sql.NullFloat64
	err := s.db.QueryRowContext(ctx, `SELECT county, township, village, elder, address, lat, lon FROM homes WHERE id = ?`, id).
		Scan(&h.Place.County, &h.Place.Township, &h.Place.Village, &h.Elder, &h.Address, &lat, &lon)
	if errors.Is(err, sql.ErrNoRows) {
		return h, fmt.Errorf("home %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return h, fmt.Errorf("registry: home %s: %w", id, err)
	}
	h.Lat, h.Lon = lat.Float64, lon.Float64
	rows, err := s.db.QueryContext(ctx, deviceSelect+` WHERE d.home = ? ORDER BY d.id`, id)
	if err != nil {
		return h, fmt.Errorf("registry: home %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return h, fmt.Errorf("registry: home %s: %w", id, err)
		}
		h.Devices = append(h.Devices, d)
	}
	if err := rows.Err(); err != nil {
		return h, err
	}
	h.People, err = s.HomeContacts(ctx, id)
	return h, err
}
