package ledger

import (
	"slices"
	"strconv"

	"carebed/gateway/protocol"
)

// parsedRow is one row checked on its own: its device, its home as this row alone
// describes it, and its clinic phone.
type parsedRow struct {
	line   int
	home   Home
	device Device
	clinic string
}

// rowError builds the Error of column c on line.
func rowError(line int, c column, reason string) *Error {
	return &Error{Line: line, Column: c.String(), Reason: reason}
}

// parseRow validates the cells of one row on its own (checks across rows come later).
func parseRow(line int, cells *[numColumns]string) (parsedRow, *Error) {
	for c, v := range cells {
		if err := checkCell(v, column(c) == colAddress); err != nil {
			return parsedRow{}, rowError(line, column(c), err.Error())
		}
	}
	for _, c := range requiredCells {
		if cells[c] == "" {
			return parsedRow{}, rowError(line, c, "is empty")
		}
	}
	row := parsedRow{line: line}
	if e := row.parseDevice(cells); e != nil {
		return row, e
	}
	if e := row.parseLocation(cells); e != nil {
		return row, e
	}
	if e := row.parseContacts(cells); e != nil {
		return row, e
	}
	return row, row.parseCare(cells)
}

// parseCare fills the home's care groups and its own visit and round intervals.
func (r *parsedRow) parseCare(cells *[numColumns]string) *Error {
	g, err := parseCareGroups(cells[colCareGroup])
	if err != nil {
		return rowError(r.line, colCareGroup, err.Error())
	}
	r.home.CareGroup = g
	for _, p := range []struct {
		c   column
		dst *int
	}{{colVisitDays, &r.home.VisitDays}, {colRoundDays, &r.home.RoundDays}} {
		if *p.dst, err = parseDays(cells[p.c]); err != nil {
			return rowError(r.line, p.c, err.Error())
		}
	}
	return nil
}

// parseDevice fills the device and the home's place.
func (r *parsedRow) parseDevice(cells *[numColumns]string) *Error {
	id := cells[colDevice]
	if !protocol.ValidDeviceID(id) {
		return rowError(r.line, colDevice, strconv.Quote(id)+" does not match [a-z0-9][a-z0-9-]{2,63}")
	}
	if e := r.checkIDs(cells); e != nil {
		return e
	}
	kind, err := parseKind(cells[colKind])
	if err != nil {
		return rowError(r.line, colKind, err.Error())
	}
	hb, err := parseHeartbeat(cells[colHeartbeat])
	if err != nil {
		return rowError(r.line, colHeartbeat, err.Error())
	}
	mobile, err := parseMobile(cells[colMobile])
	if err != nil {
		return rowError(r.line, colMobile, err.Error())
	}
	r.home.Mobile = mobile
	r.home.County, r.home.Township, r.home.Village = cells[colCounty], cells[colTownship], cells[colVillage]
	r.home.ID = cells[colHome]
	r.device = Device{ID: id, Kind: kind, HeartbeatS: hb, Home: cells[colHome]}
	return r.parseDevicePhone(cells)
}

// parseDevicePhone fills an sms_phone's own number, which it must have; no other
// kind takes one.
func (r *parsedRow) parseDevicePhone(cells *[numColumns]string) *Error {
	cell := cells[colDevicePhone]
	switch {
	case r.device.Kind != KindSMSPhone && cell != "":
		return rowError(r.line, colDevicePhone, "only an sms_phone (手机) row takes a phone number")
	case r.device.Kind != KindSMSPhone:
		return nil
	case cell == "":
		return rowError(r.line, colDevicePhone, "is empty; an sms_phone (手机) row needs the phone's own number")
	}
	v, err := normalizePhone(cell)
	if err != nil {
		return rowError(r.line, colDevicePhone, err.Error())
	}
	r.device.Phone = v
	return nil
}

// checkIDs checks the home id and the place names against their character sets.
func (r *parsedRow) checkIDs(cells *[numColumns]string) *Error {
	for _, c := range []column{colCounty, colTownship, colVillage} {
		if reason := checkPlace(cells[c]); reason != "" {
			return rowError(r.line, c, reason)
		}
	}
	if reason := checkHomeID(cells[colHome]); reason != "" {
		return rowError(r.line, colHome, reason)
	}
	return nil
}

// parseLocation fills the home's elder, address and coordinates; lat and lon come
// together or not at all.
func (r *parsedRow) parseLocation(cells *[numColumns]string) *Error {
	r.home.Elder, r.home.Address = cells[colElder], cells[colAddress]
	lat, lon := cells[colLat], cells[colLon]
	switch {
	case lat == "" && lon == "":
		return nil
	case lat == "":
		return rowError(r.line, colLat, "is empty while lon is given")
	case lon == "":
		return rowError(r.line, colLon, "is empty while lat is given")
	}
	var err error
	if r.home.Lat, err = parseCoord(lat, 90); err != nil {
		return rowError(r.line, colLat, err.Error())
	}
	if r.home.Lon, err = parseCoord(lon, 180); err != nil {
		return rowError(r.line, colLon, err.Error())
	}
	r.home.HasLoc = true
	return nil
}

// parseContacts fills the home's contacts and the township clinic's phone.
func (r *parsedRow) parseContacts(cells *[numColumns]string) *Error {
	h := &r.home
	h.VisitorName, h.DoctorName = cells[colVisitorName], cells[colDoctorName]
	for _, p := range []struct {
		c   column
		dst *string
	}{{colVisitorPhone, &h.VisitorPhone}, {colDoctorPhone, &h.DoctorPhone}, {colClinicPhone, &r.clinic}} {
		if cells[p.c] == "" {
			continue
		}
		v, err := normalizePhone(cells[p.c])
		if err != nil {
			return rowError(r.line, p.c, err.Error())
		}
		*p.dst = v
	}
	family, err := parsePhoneList(cells[colFamilyPhone])
	if err != nil {
		return rowError(r.line, colFamilyPhone, err.Error())
	}
	h.Family = family
	return nil
}

// Equal reports whether two descriptions of a home are the same.
func (h *Home) Equal(o *Home) bool {
	return h.County == o.County && h.Township == o.Township && h.Village == o.Village && h.ID == o.ID &&
		h.Elder == o.Elder && h.Address == o.Address &&
		h.HasLoc == o.HasLoc && h.Lat == o.Lat && h.Lon == o.Lon && h.Mobile == o.Mobile &&
		h.VisitorName == o.VisitorName && h.VisitorPhone == o.VisitorPhone &&
		h.DoctorName == o.DoctorName && h.DoctorPhone == o.DoctorPhone &&
		slices.Equal(h.Family, o.Family) &&
		h.CareGroup == o.CareGroup && h.VisitDays == o.VisitDays && h.RoundDays == o.RoundDays
}
