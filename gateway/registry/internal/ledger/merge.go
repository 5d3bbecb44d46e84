package ledger

import (
	"fmt"
	"slices"
	"strconv"
)

// homeState is a home as the good rows so far describe it, with the line that gave
// each column its value.
type homeState struct {
	Home
	lines [numColumns]int
}

// clinicState is a township clinic's phone and the line that gave it.
type clinicState struct {
	phone string
	line  int
}

// checkDuplicate reports a device id already on an earlier line, bad or good.
func (l *Ledger) checkDuplicate(line int, id string) *Error {
	if id == "" {
		return nil
	}
	if first, ok := l.firstDev[id]; ok {
		return rowError(line, colDevice, strconv.Quote(id)+" is also on line "+strconv.Itoa(first))
	}
	l.firstDev[id] = line
	return nil
}

// checkDevicePhone reports an sms_phone number already on an earlier good row, and
// a number that is both an elder's own phone and a responder's (visitor, doctor or
// family) in this ledger, in either order: a "1" from it would be both an SOS and an
// acknowledgement.
func (l *Ledger) checkDevicePhone(row *parsedRow) *Error {
	h := &row.home
	for _, c := range []struct {
		col    column
		phones []string
	}{{colVisitorPhone, []string{h.VisitorPhone}}, {colDoctorPhone, []string{h.DoctorPhone}}, {colFamilyPhone, h.Family}} {
		for _, tel := range c.phones {
			if first, ok := l.firstTel[tel]; ok && tel != "" {
				return rowError(row.line, c.col, "is the elder's own phone (sms_phone) on line "+
					strconv.Itoa(first)+"; an elder's own phone cannot be a responder's")
			}
		}
	}
	tel := row.device.Phone
	if tel == "" {
		return nil
	}
	if first, ok := l.firstTel[tel]; ok {
		return rowError(row.line, colDevicePhone, "the same phone is on line "+strconv.Itoa(first))
	}
	for _, other := range append(slices.Clip(l.Homes), h) {
		if slices.Contains(contactPhones(other), tel) {
			return rowError(row.line, colDevicePhone, "is also a visitor's, doctor's or family phone of home "+other.ID+
				"; an elder's own phone cannot be a responder's")
		}
	}
	l.firstTel[tel] = row.line
	return nil
}

// contactPhones lists the phones of h's responders.
func contactPhones(h *Home) []string {
	out := append([]string{h.VisitorPhone, h.DoctorPhone}, h.Family...)
	return slices.DeleteFunc(out, func(s string) bool { return s == "" })
}

// checkClinic reports a township clinic phone that differs from an earlier row's.
func (l *Ledger) checkClinic(row *parsedRow) *Error {
	prev, ok := l.clinics[[2]string{row.home.County, row.home.Township}]
	if row.clinic == "" || !ok || prev.phone == row.clinic {
		return nil
	}
	return rowError(row.line, colClinicPhone, fmt.Sprintf("differs from line %d for township %s", prev.line, row.home.Township))
}

// checkHome reports a row that describes its home differently from an earlier row.
func (l *Ledger) checkHome(row *parsedRow) *Error {
	s, ok := l.homes[row.home.ID]
	if !ok {
		return nil
	}
	return s.conflict(&row.home, row.line)
}

// keep adds a good row: its device, and its home and clinic phone merged into those
// of the rows before it.
func (l *Ledger) keep(row *parsedRow) {
	l.Rows = append(l.Rows, Row{Line: row.line, Device: row.device, Clinic: row.clinic})
	h := &row.home
	if key := [2]string{h.County, h.Township}; row.clinic != "" {
		if _, ok := l.clinics[key]; !ok {
			l.clinics[key] = clinicState{phone: row.clinic, line: row.line}
			l.Clinics = append(l.Clinics, Clinic{County: h.County, Township: h.Township, Phone: row.clinic})
		}
	}
	s, ok := l.homes[h.ID]
	if !ok {
		s = &homeState{}
		l.homes[h.ID] = s
		l.Homes = append(l.Homes, &s.Home)
	}
	s.merge(h, row.line)
}

// textField is a text column of a home.
type textField struct {
	c   column
	dst *string
}

// textFields lists the home's text columns; a blank one is filled from another row.
func (h *Home) textFields() []textField {
	return []textField{
		{colCounty, &h.County}, {colTownship, &h.Township}, {colVillage, &h.Village},
		{colElder, &h.Elder}, {colAddress, &h.Address},
		{colVisitorName, &h.VisitorName}, {colVisitorPhone, &h.VisitorPhone},
		{colDoctorName, &h.DoctorName}, {colDoctorPhone, &h.DoctorPhone},
		{colCareGroup, &h.CareGroup},
	}
}

// dayFields lists the home's interval columns; 0 is blank.
func (h *Home) dayFields() []dayField {
	return []dayField{{colVisitDays, &h.VisitDays}, {colRoundDays, &h.RoundDays}}
}

// dayField is an interval column of a home.
type dayField struct {
	c   column
	dst *int
}

// conflict reports the first column in which next differs from the home so far;
// a column blank on either side does not conflict.
func (s *homeState) conflict(next *Home, line int) *Error {
	cur, nxt := s.textFields(), next.textFields()
	for i := range cur {
		if a, b := *cur[i].dst, *nxt[i].dst; a != "" && b != "" && a != b {
			return s.conflictError(line, cur[i].c, a)
		}
	}
	if s.HasLoc && next.HasLoc && (s.Lat != next.Lat || s.Lon != next.Lon) {
		return s.conflictError(line, colLat, "")
	}
	if len(s.Family) > 0 && len(next.Family) > 0 && !slices.Equal(s.Family, next.Family) {
		return s.conflictError(line, colFamilyPhone, "")
	}
	curD, nxtD := s.dayFields(), next.dayFields()
	for i := range curD {
		if a, b := *curD[i].dst, *nxtD[i].dst; a != 0 && b != 0 && a != b {
			return s.conflictError(line, curD[i].c, "")
		}
	}
	return nil
}

// conflictError says which earlier line column c of the home conflicts with. Place
// names are quoted; personal data is not.
func (s *homeState) conflictError(line int, c column, was string) *Error {
	first := s.lines[c]
	switch c {
	case colCounty, colTownship, colVillage:
		return rowError(line, c, fmt.Sprintf("home %s is in %s %s on line %d", s.ID, c, was, first))
	}
	return rowError(line, c, fmt.Sprintf("differs from line %d for home %s", first, s.ID))
}

// merge fills the home's blank columns from next.
func (s *homeState) merge(next *Home, line int) {
	cur, nxt := s.textFields(), next.textFields()
	for i := range cur {
		if *cur[i].dst == "" && *nxt[i].dst != "" {
			*cur[i].dst, s.lines[cur[i].c] = *nxt[i].dst, line
		}
	}
	s.ID = next.ID
	if !s.HasLoc && next.HasLoc {
		s.HasLoc, s.Lat, s.Lon, s.lines[colLat] = true, next.Lat, next.Lon, line
	}
	if len(s.Family) == 0 && len(next.Family) > 0 {
		s.Family, s.lines[colFamilyPhone] = next.Family, line
	}
	curD, nxtD := s.dayFields(), next.dayFields()
	for i := range curD {
		if *curD[i].dst == 0 && *nxtD[i].dst != 0 {
			*curD[i].dst, s.lines[curD[i].c] = *nxtD[i].dst, line
		}
	}
	if next.Mobile && !s.Mobile {
		s.Mobile, s.lines[colMobile] = true, line
	}
}
