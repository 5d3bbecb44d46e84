package registry

import (
	"context"
	"fmt"
	"strings"
)

// Care is what the visits schedule needs of a home: its place, its elder's care
// groups (照护类别, keys of alerting/policy's CareGroup), its own visit and round
// intervals in days (0: the ledger gives none), and its village visitor and doctor.
// Names and phones are personal data.
type Care struct {
	Place                     Place
	Groups                    []string
	VisitDays, RoundDays      int
	VisitorName, VisitorPhone string
	DoctorName, DoctorPhone   string
}

// careSelect reads homes with their visitor's and doctor's contacts.
const careSelect = `SELECT h.id, h.county, h.township, h.village, h.care_group, h.visit_days, h.round_days,
	COALESCE(v.name, ''), COALESCE(v.phone, ''), COALESCE(d.name, ''), COALESCE(d.phone, '')
	FROM homes h
	LEFT JOIN contacts v ON v.home = h.id AND v.role = '` + RoleVillageVisitor + `'
	LEFT JOIN contacts d ON d.home = h.id AND d.role = '` + RoleVillageDoctor + `'`

// CareAll returns every home's care record, ordered by home id.
func (s *Store) CareAll(ctx context.Context) ([]Care, error) {
	return s.care(ctx, ` ORDER BY h.id`)
}

// CareOf returns one home's care record, or an error wrapping ErrNotFound.
func (s *Store) CareOf(ctx context.Context, home string) (Care, error) {
	cs, err := s.care(ctx, ` WHERE h.id = ?`, home)
	if err != nil {
		return Care{}, err
	}
	if len(cs) == 0 {
		return Care{}, fmt.Errorf("home %s: %w", home, ErrNotFound)
	}
	return cs[0], nil
}

func (s *Store) care(ctx context.Context, tail string, args ...any) ([]Care, error) {
	rows, err := s.db.QueryContext(ctx, careSelect+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("registry: care: %w", err)
	}
	defer rows.Close()
	var out []Care
	for rows.Next() {
		var c Care
		var groups string
		if err := rows.Scan(&c.Place.Home, &c.Place.County, &c.Place.Township, &c.Place.Village, &groups,
			&c.VisitDays, &c.RoundDays, &c.VisitorName, &c.VisitorPhone, &c.DoctorName, &c.DoctorPhone); err != nil {
			return nil, fmt.Errorf("registry: care: %w", err)
		}
		if groups != "" {
			c.Groups = strings.Split(groups, ",")
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
