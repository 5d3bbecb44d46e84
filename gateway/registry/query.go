package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
)

// querier is what the read queries need: the database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// deviceSelect selects the columns scanDevice reads.
const deviceSelect = `SELECT d.id, d.kind, d.heartbeat_s, h.county, h.township, h.village, h.id,
	coalesce(h.lat, 0), coalesce(h.lon, 0), h.mobile, d.phone FROM devices d JOIN homes h ON h.id = d.home`

// scanDevice scans one row of deviceSelect.
func scanDevice(row interface{ Scan(...any) error }) (Device, error) {
	var d Device
	p := &d.Place
	err := row.Scan(&d.ID, &d.Kind, &d.HeartbeatS, &p.County, &p.Township, &p.Village, &p.Home, &d.Lat, &d.Lon, &d.Mobile, &d.Phone)
	return d, err
}

// Device returns the device with the given id, or an error wrapping ErrNotFound.
func (s *Store) Device(ctx context.Context, id string) (Device, error) {
	d, err := scanDevice(s.db.QueryRowContext(ctx, deviceSelect+` WHERE d.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, fmt.Errorf("device %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Device{}, fmt.Errorf("registry: device %s: %w", id, err)
	}
	return d, nil
}

// DeviceByPhone returns the sms_phone device whose own number is phone (normalised),
// or an error wrapping ErrNotFound. The ledger lets a number be one device's only.
func (s *Store) DeviceByPhone(ctx context.Context, phone string) (Device, error) {
	if phone == "" {
		return Device{}, fmt.Errorf("device by phone: %w", ErrNotFound)
	}
	d, err := scanDevice(s.db.QueryRowContext(ctx, deviceSelect+` WHERE d.phone = ? ORDER BY d.id LIMIT 1`, phone))
	if errors.Is(err, sql.ErrNoRows) {
		return Device{}, fmt.Errorf("device by phone: %w", ErrNotFound)
	}
	if err != nil {
		return Device{}, fmt.Errorf("registry: device by phone: %w", err)
	}
	return d, nil
}

// Devices returns every device, ordered by county, township, village, home and id:
// what the gateway loads into its in-memory cache.
func (s *Store) Devices(ctx context.Context) ([]Device, error) {
	return devices(ctx, s.db)
}

// devices runs Devices on q.
func devices(ctx context.Context, q querier) ([]Device, error) {
	rows, err := q.QueryContext(ctx, deviceSelect+` ORDER BY h.county, h.township, h.village, h.id, d.id`)
	if err != nil {
		return nil, fmt.Errorf("registry: devices: %w", err)
	}
	defer rows.Close()
	var out []Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: devices: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: devices: %w", err)
	}
	return out, nil
}

// Summary counts the counties, townships, villages, homes and devices registered.
func (s *Store) Summary(ctx context.Context) (Summary, error) {
	return summary(ctx, s.db)
}

// summary runs Summary on q.
func summary(ctx context.Context, q querier) (Summary, error) {
	var n Summary
	err := q.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM counties), (SELECT count(*) FROM townships),
		(SELECT count(*) FROM villages), (SELECT count(*) FROM homes),
		(SELECT count(*) FROM devices)`).Scan(&n.Counties, &n.Townships, &n.Villages, &n.Homes, &n.Devices)
	if err != nil {
		return Summary{}, fmt.Errorf("registry: summary: %w", err)
	}
	return n, nil
}

// WriteList writes what `gateway registry list` prints: a summary line, then one line
// per device, "county/township/village home device kind". It writes no personal data.
// Both come from one read transaction, so they agree.
func (s *Store) WriteList(ctx context.Context, w io.Writer) error {
	tx, err := s.db.BeginRead(ctx)
	if err != nil {
		return fmt.Errorf("registry: list: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	n, err := summary(ctx, tx)
	if err != nil {
		return err
	}
	all, err := devices(ctx, tx)
	if err != nil {
		return err
	}
	return writeList(w, n, all)
}

// writeList formats the list.
func writeList(w io.Writer, n Summary, all []Device) error {
	if _, err := fmt.Fprintf(w, "%d counties, %d townships, %d villages, %d homes, %d devices\n",
		n.Counties, n.Townships, n.Villages, n.Homes, n.Devices); err != nil {
		return fmt.Errorf("registry: list: %w", err)
	}
	for _, d := range all {
		p := d.Place
		if _, err := fmt.Fprintf(w, "%s/%s/%s %s %s %s\n", p.County, p.Township, p.Village, p.Home, d.ID, d.Kind); err != nil {
			return fmt.Errorf("registry: list: %w", err)
		}
	}
	return nil
}

// HomeContacts returns the people to reach for a home, in paging order: the village
// visitor, the village doctor, the family phones in ledger order, then the township
// clinic. Only people with a phone are returned; the clinic's Name is the township
// name followed by 卫生院. It returns an error wrapping ErrNotFound for an unknown home,
// and an empty list for a home with nobody to reach.
func (s *Store) HomeContacts(ctx context.Context, home string) ([]Person, error) {
	var county, township, clinic string
	err := s.db.QueryRowContext(ctx, `SELECT t.county, t.name, t.clinic_phone FROM homes h
		JOIN townships t ON t.county = h.county AND t.name = h.township WHERE h.id = ?`, home).
		Scan(&county, &township, &clinic)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("home %s: %w", home, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: contacts of home %s: %w", home, err)
	}
	people, err := s.homePeople(ctx, home)
	if err != nil {
		return nil, err
	}
	if clinic != "" {
		people = append(people, Person{Role: RoleTownshipClinic, Name: township + "卫生院", Phone: clinic})
	}
	return people, nil
}

// homePeople returns the home's contacts that have a phone.
func (s *Store) homePeople(ctx context.Context, home string) ([]Person, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT role, name, phone FROM contacts
		WHERE home = ? AND phone != '' ORDER BY pos`, home)
	if err != nil {
		return nil, fmt.Errorf("registry: contacts of home %s: %w", home, err)
	}
	people, err := scanPeople(rows)
	if err != nil {
		return nil, fmt.Errorf("registry: contacts of home %s: %w", home, err)
	}
	return people, nil
}

// TownshipClinicPhone returns the duty phone of a township's clinic (乡镇卫生院). It
// returns an error wrapping ErrNotFound when the township is unknown or has no clinic
// phone on record.
func (s *Store) TownshipClinicPhone(ctx context.Context, county, township string) (string, error) {
	var phone string
	err := s.db.QueryRowContext(ctx, `SELECT clinic_phone FROM townships WHERE county = ? AND name = ?`,
		county, township).Scan(&phone)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("township %s/%s: %w", county, township, ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("registry: township %s/%s: %w", county, township, err)
	case phone == "":
		return "", fmt.Errorf("township %s/%s has no clinic phone: %w", county, township, ErrNotFound)
	}
	return phone, nil
}

// Changes counts the changes ever made to what the gateway's registry load reads:
// homes, devices, contacts and credentials (a trigger on each adds one per row
// changed on SQLite, per statement on PostgreSQL). Read before a load, an equal
// count later means nothing the load read has changed since: every refresh of a site
// whose ledger did not change skips the load. Writes by any process count, the
// commands' (registry import, devices revoke) as the gateway's.
func (s *Store) Changes(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, `SELECT n FROM changes WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("registry: changes: %w", err)
	}
	return n, nil
}
