package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"carebed/gateway/registry/internal/ledger"
	"carebed/internal/sqldb"
)

// Statements of a writer, by index into writerSQL.
const (
	stCounty = iota
	stTownship
	stVillage
	stClinic
	stSetClinic
	stHome
	stContacts
	stPutHome
	stDelContacts
	stPutContact
	stDevice
	stPutDevice
	numStatements
)

// writerSQL is the text of each statement.
var writerSQL = [numStatements]string{
	stCounty:    `INSERT INTO counties(name) VALUES (?) ON CONFLICT DO NOTHING`,
	stTownship:  `INSERT INTO townships(county, name) VALUES (?, ?) ON CONFLICT DO NOTHING`,
	stVillage:   `INSERT INTO villages(county, township, name) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
	stClinic:    `SELECT clinic_phone FROM townships WHERE county = ? AND name = ?`,
	stSetClinic: `UPDATE townships SET clinic_phone = ? WHERE county = ? AND name = ?`,
	stHome: `SELECT county, township, village, elder, address, lat, lon, care_group, visit_days, round_days, mobile
		FROM homes WHERE id = ?`,
	stContacts: `SELECT role, name, phone FROM contacts WHERE home = ? ORDER BY pos`,
	stPutHome: `INSERT INTO homes(id, county, township, village, elder, address, lat, lon, care_group, visit_days, round_days, mobile)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET
		county = excluded.county, township = excluded.township, village = excluded.village,
		elder = excluded.elder, address = excluded.address, lat = excluded.lat, lon = excluded.lon,
		care_group = excluded.care_group, visit_days = excluded.visit_days, round_days = excluded.round_days,
		mobile = excluded.mobile`,
	stDelContacts: `DELETE FROM contacts WHERE home = ?`,
	stPutContact:  `INSERT INTO contacts(home, pos, role, name, phone) VALUES (?, ?, ?, ?, ?)`,
	stDevice:      `SELECT kind, heartbeat_s, home, phone FROM devices WHERE id = ?`,
	stPutDevice: `INSERT INTO devices(id, home, kind, heartbeat_s, phone) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET home = excluded.home, kind = excluded.kind,
		heartbeat_s = excluded.heartbeat_s, phone = excluded.phone`,
}

// writer reads and writes the registry inside one import transaction through
// prepared statements.
type writer struct {
	st [numStatements]*sql.Stmt
}

// prepareWriter prepares every statement on tx.
func prepareWriter(ctx context.Context, tx *sqldb.Tx) (*writer, error) {
	w := &writer{}
	for i, q := range writerSQL {
		st, err := tx.PrepareContext(ctx, q)
		if err != nil {
			w.close()
			return nil, fmt.Errorf("prepare: %w", err)
		}
		w.st[i] = st
	}
	return w, nil
}

// close closes the prepared statements.
func (w *writer) close() {
	for _, st := range w.st {
		if st != nil {
			st.Close() //nolint:errcheck // closing a statement of a finished transaction
		}
	}
}

// exec runs statement i.
func (w *writer) exec(ctx context.Context, i int, args ...any) error {
	if _, err := w.st[i].ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("statement %d: %w", i, err)
	}
	return nil
}

// ensurePlace creates the county, township and village of p when they are missing.
func (w *writer) ensurePlace(ctx context.Context, p Place) error {
	if err := w.exec(ctx, stCounty, p.County); err != nil {
		return err
	}
	if err := w.exec(ctx, stTownship, p.County, p.Township); err != nil {
		return err
	}
	return w.exec(ctx, stVillage, p.County, p.Township, p.Village)
}

// clinicPhone returns the stored clinic phone of a township.
func (w *writer) clinicPhone(ctx context.Context, t townshipKey) (string, error) {
	var phone string
	if err := w.st[stClinic].QueryRowContext(ctx, t[0], t[1]).Scan(&phone); err != nil {
		return "", fmt.Errorf("read clinic phone of %s/%s: %w", t[0], t[1], err)
	}
	return phone, nil
}

// setClinicPhone stores the clinic phone of a township.
func (w *writer) setClinicPhone(ctx context.Context, t townshipKey, phone string) error {
	return w.exec(ctx, stSetClinic, phone, t[0], t[1])
}

// home reads a stored home with its contacts.
func (w *writer) home(ctx context.Context, id string) (ledger.Home, bool, error) {
	h := ledger.Home{ID: id}
	var lat, lon sql.NullFloat64
	err := w.st[stHome].QueryRowContext(ctx, id).Scan(&h.County, &h.Township,
		&h.Village, &h.Elder, &h.Address, &lat, &lon, &h.CareGroup, &h.VisitDays, &h.RoundDays, &h.Mobile)
	if errors.Is(err, sql.ErrNoRows) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("read home %s: %w", id, err)
	}
	h.HasLoc, h.Lat, h.Lon = lat.Valid && lon.Valid, lat.Float64, lon.Float64
	rows, err := w.st[stContacts].QueryContext(ctx, id)
	if err != nil {
		return h, false, fmt.Errorf("read contacts of home %s: %w", id, err)
	}
	people, err := scanPeople(rows)
	if err != nil {
		return h, false, fmt.Errorf("read contacts of home %s: %w", id, err)
	}
	setContacts(&h, people)
	return h, true, nil
}

// scanPeople reads rows of role, name and phone, and closes them.
func scanPeople(rows *sql.Rows) ([]Person, error) {
	defer rows.Close()
	var out []Person
	for rows.Next() {
		var p Person
		if err := rows.Scan(&p.Role, &p.Name, &p.Phone); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// putHome stores a home and replaces its contacts.
func (w *writer) putHome(ctx context.Context, h *ledger.Home) error {
	var lat, lon sql.NullFloat64
	if h.HasLoc {
		lat, lon = sql.NullFloat64{Float64: h.Lat, Valid: true}, sql.NullFloat64{Float64: h.Lon, Valid: true}
	}
	if err := w.exec(ctx, stPutHome, h.ID, h.County, h.Township, h.Village, h.Elder, h.Address, lat, lon,
		h.CareGroup, h.VisitDays, h.RoundDays, h.Mobile); err != nil {
		return err
	}
	if err := w.exec(ctx, stDelContacts, h.ID); err != nil {
		return err
	}
	for i, c := range contacts(h) {
		if err := w.exec(ctx, stPutContact, h.ID, i, c.Role, c.Name, c.Phone); err != nil {
			return err
		}
	}
	return nil
}

// device reads a stored device.
func (w *writer) device(ctx context.Context, id string) (ledger.Device, bool, error) {
	d := ledger.Device{ID: id}
	err := w.st[stDevice].QueryRowContext(ctx, id).Scan(&d.Kind, &d.HeartbeatS, &d.Home, &d.Phone)
	if errors.Is(err, sql.ErrNoRows) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("read device %s: %w", id, err)
	}
	return d, true, nil
}

// putDevice stores a device.
func (w *writer) putDevice(ctx context.Context, d *ledger.Device) error {
	return w.exec(ctx, stPutDevice, d.ID, d.Home, d.Kind, d.HeartbeatS, d.Phone)
}

// contacts returns a home's people in paging order: visitor, doctor, family. A person
// the ledger leaves entirely blank is left out.
func contacts(h *ledger.Home) []Person {
	var out []Person
	if h.VisitorName != "" || h.VisitorPhone != "" {
		out = append(out, Person{Role: RoleVillageVisitor, Name: h.VisitorName, Phone: h.VisitorPhone})
	}
	if h.DoctorName != "" || h.DoctorPhone != "" {
		out = append(out, Person{Role: RoleVillageDoctor, Name: h.DoctorName, Phone: h.DoctorPhone})
	}
	for _, p := range h.Family {
		out = append(out, Person{Role: RoleFamily, Phone: p})
	}
	return out
}

// setContacts is the inverse of contacts, for a home read back from the database.
func setContacts(h *ledger.Home, people []Person) {
	for _, p := range people {
		switch p.Role {
		case RoleVillageVisitor:
			h.VisitorName, h.VisitorPhone = p.Name, p.Phone
		case RoleVillageDoctor:
			h.DoctorName, h.DoctorPhone = p.Name, p.Phone
		case RoleFamily:
			h.Family = append(h.Family, p.Phone)
		}
	}
}
