// Package ledger reads and checks the CSV bed ledgers that county bureaus keep in
// spreadsheets: one row per device, with its home, the home's people to reach and
// the township clinic's phone. It knows nothing of storage; package registry imports
// what it reads.
package ledger

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// Device kinds, the values of Device.Kind.
const (
	KindSOSPendant    = "sos_pendant"
	KindFallSensor    = "fall_sensor"
	KindBedSensor     = "bed_sensor"
	KindSmokeDetector = "smoke_detector"
	KindGasDetector   = "gas_detector"
	KindWaterSensor   = "water_sensor"
	// KindSMSPhone is an elder's own (feature) phone: it never connects by MQTT; an
	// SMS from its number (device_phone) asking for help raises an SOS.
	KindSMSPhone = "sms_phone"
)

// DefaultHeartbeatS is the heartbeat interval, in seconds, of a row that gives none.
const DefaultHeartbeatS = 300

// Home is a home as the ledger describes it. County, Township, Village and ID are
// places and ids; everything else is personal data. Phones are normalised.
type Home struct {
	County, Township, Village, ID string
	Elder, Address                string
	HasLoc                        bool
	Lat, Lon                      float64
	VisitorName, VisitorPhone     string
	DoctorName, DoctorPhone       string
	Family                        []string
	// CareGroup is the elder's care groups (照护类别), their keys sorted and joined
	// by ","; "" for none. VisitDays and RoundDays are the home's own intervals
	// (探访周期, 巡诊周期) in days, 0 when the ledger gives none.
	CareGroup            string
	VisitDays, RoundDays int
	// Mobile marks a household that moves with its herds (ledger column 流动 or
	// 游牧): its devices get the longer offline threshold of mobile homes. A home is
	// mobile when any of its rows says so.
	Mobile bool
}

// Device is a device as the ledger describes it.
type Device struct {
	ID, Kind   string
	HeartbeatS int
	Home       string
	// Phone is an sms_phone's own number (device_phone), normalised; "" for other kinds.
	Phone string
}

// Row is one good row: its device, and the township clinic phone it gives ("" for
// none). Its home is Ledger.Home(Row.Device.Home), merged across the home's rows.
type Row struct {
	Line   int
	Device Device
	Clinic string
}

// Clinic is the duty phone of a township's clinic (乡镇卫生院).
type Clinic struct {
	County, Township, Phone string
}

// Error is one bad row: its 1-based line (the header is line 1), the canonical
// (English) name of the column at fault, empty when the fault is not in one column,
// and the reason. Reasons never quote personal data.
type Error struct {
	Line   int
	Column string
	Reason string
}

// Ledger is a ledger read and checked.
type Ledger struct {
	Rows      []Row    // the good rows, in file order
	Homes     []*Home  // the homes of the good rows, merged across rows, in file order
	Clinics   []Clinic // the township clinic phones the good rows give, in file order
	Errors    []Error  // one per bad row, in file order
	Total     int      // data rows read, blank ones not counted
	BadHeader bool     // the header is bad: Errors holds its error and nothing was read

	homes    map[string]*homeState
	clinics  map[[2]string]clinicState
	firstDev map[string]int // device id -> first line it is on
	firstTel map[string]int // sms_phone number -> first line it is on
}

// Home returns the home with the given id, or nil.
func (l *Ledger) Home(id string) *Home {
	if s, ok := l.homes[id]; ok {
		return &s.Home
	}
	return nil
}

// utf8BOM is what Excel writes at the start of a "CSV UTF-8" file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Read reads and checks a whole ledger. Its error is an I/O error only: bad content
// is reported in Ledger.Errors.
func Read(r io.Reader) (*Ledger, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		br.Discard(len(utf8BOM)) //nolint:errcheck // the bytes were peeked
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	l := &Ledger{homes: map[string]*homeState{}, clinics: map[[2]string]clinicState{}, firstDev: map[string]int{}, firstTel: map[string]int{}}
	h, err := l.readHeader(cr)
	if err != nil || l.BadHeader {
		return l, err
	}
	for {
		done, err := l.readRow(cr, &h)
		if err != nil || done {
			return l, err
		}
	}
}

// readHeader reads line 1; a bad header is recorded as an error of line 1.
func (l *Ledger) readHeader(cr *csv.Reader) (header, error) {
	rec, err := cr.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return header{}, l.headerError(&Error{Line: 1, Reason: "the file is empty; want a header row"})
	case errors.As(err, &pe):
		return header{}, l.headerError(&Error{Line: 1, Reason: "CSV: " + pe.Err.Error()})
	case err != nil:
		return header{}, fmt.Errorf("read ledger header: %w", err)
	}
	h, e := parseHeader(rec)
	if e != nil {
		return h, l.headerError(e)
	}
	return h, nil
}

// headerError records that the header is bad; it returns nil so callers can return it.
func (l *Ledger) headerError(e *Error) error {
	l.Errors, l.BadHeader = append(l.Errors, *e), true
	return nil
}

// readRow reads and checks the next row, reporting done at the end of the file.
func (l *Ledger) readRow(cr *csv.Reader, h *header) (done bool, err error) {
	rec, err := cr.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return true, nil
	case errors.As(err, &pe):
		l.Total++
		l.Errors = append(l.Errors, Error{Line: pe.StartLine, Reason: "CSV: " + pe.Err.Error()})
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read ledger: %w", err)
	}
	if blank(rec) {
		return false, nil
	}
	line, _ := cr.FieldPos(0)
	l.Total++
	if e := l.addRow(line, rec, h); e != nil {
		l.Errors = append(l.Errors, *e)
	}
	return false, nil
}

// addRow checks one record on its own and against the rows before it, and keeps it
// when it is good.
func (l *Ledger) addRow(line int, rec []string, h *header) *Error {
	if len(rec) != h.width {
		return &Error{Line: line, Reason: fmt.Sprintf("has %d columns, the header has %d", len(rec), h.width)}
	}
	cells := h.cells(rec)
	if e := l.checkDuplicate(line, cells[colDevice]); e != nil {
		return e
	}
	row, e := parseRow(line, &cells)
	if e != nil {
		return e
	}
	if e := l.checkHome(&row); e != nil {
		return e
	}
	if e := l.checkClinic(&row); e != nil {
		return e
	}
	if e := l.checkDevicePhone(&row); e != nil {
		return e
	}
	l.keep(&row)
	return nil
}
