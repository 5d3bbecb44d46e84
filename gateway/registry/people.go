package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Contact is one person to reach about a home, with its place in the ledger's
// order (stable across re-imports of the same ledger), so alerting can name it by id.
type Contact struct {
	Home  string
	Pos   int
	Role  string
	Name  string
	Phone string
}

// Contacts returns the home's contacts that have a phone, in ledger order.
func (s *Store) Contacts(ctx context.Context, home string) ([]Contact, error) {
	return s.contacts(ctx, `WHERE home = ? AND phone != '' ORDER BY pos`, home)
}

// Contact returns one contact of a home by its position, or ErrNotFound.
func (s *Store) Contact(ctx context.Context, home string, pos int) (Contact, error) {
	cs, err := s.contacts(ctx, `WHERE home = ? AND pos = ?`, home, pos)
	if err != nil {
		return Contact{}, err
	}
	if len(cs) == 0 {
		return Contact{}, fmt.Errorf("contact %s/%d: %w", home, pos, ErrNotFound)
	}
	return cs[0], nil
}

// ContactsByPhone returns every home contact with this (normalised) phone number.
func (s *Store) ContactsByPhone(ctx context.Context, phone string) ([]Contact, error) {
	return s.contacts(ctx, `WHERE phone = ? ORDER BY home, pos`, phone)
}

func (s *Store) contacts(ctx context.Context, where string, args ...any) ([]Contact, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT home, pos, role, name, phone FROM contacts `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: contacts: %w", err)
	}
	defer rows.Close()
	var out []Contact
	for rows.Next() {
		var c Contact
		if err := rows.Scan(&c.Home, &c.Pos, &c.Role, &c.Name, &c.Phone); err != nil {
			return nil, fmt.Errorf("registry: contacts: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Township is a township with its clinic's duty phone.
type Township struct {
	County, Name, ClinicPhone string
}

// TownshipsByClinicPhone returns the townships whose clinic has this duty phone.
func (s *Store) TownshipsByClinicPhone(ctx context.Context, phone string) ([]Township, error) {
	return s.townships(ctx, `WHERE clinic_phone = ?`, phone)
}

// ClinicTownships returns the townships that have a clinic duty phone.
func (s *Store) ClinicTownships(ctx context.Context) ([]Township, error) {
	return s.townships(ctx, `WHERE clinic_phone != ''`)
}

func (s *Store) townships(ctx context.Context, where string, args ...any) ([]Township, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT county, name, clinic_phone FROM townships `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: townships: %w", err)
	}
	defer rows.Close()
	var out []Township
	for rows.Next() {
		var t Township
		if err := rows.Scan(&t.County, &t.Name, &t.ClinicPhone); err != nil {
			return nil, fmt.Errorf("registry: townships: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Elder returns the name of a home's elder as the ledger gives it, or ErrNotFound.
func (s *Store) Elder(ctx context.Context, home string) (string, error) {
	var elder string
	err := s.db.QueryRowContext(ctx, `SELECT elder FROM homes WHERE id = ?`, home).Scan(&elder)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("home %s: %w", home, ErrNotFound)
	}
	return elder, err
}

// VillageContacts returns the contacts with role of every home in a village, one per
// phone number (a village doctor is a contact of many homes): who to send about a
// village-wide alert.
func (s *Store) VillageContacts(ctx context.Context, county, township, village, role string) ([]Contact, error) {
	cs, err := s.contacts(ctx, `WHERE role = ? AND phone != '' AND home IN
		(SELECT id FROM homes WHERE county = ? AND township = ? AND village = ?) ORDER BY home, pos`,
		role, county, township, village)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := cs[:0]
	for _, c := range cs {
		if !seen[c.Phone] {
			seen[c.Phone] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// AllContacts returns every home contact with a phone.
func (s *Store) AllContacts(ctx context.Context) ([]Contact, error) {
	return s.contacts(ctx, `WHERE phone != '' ORDER BY home, pos`)
}
