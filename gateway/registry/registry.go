// Package registry is the gateway's device registry: counties, townships, villages,
// homes, their devices and the people to reach for each home, kept in SQLite (Open) or
// PostgreSQL (OpenPostgres), and imported from the CSV bed ledgers that county bureaus
// keep in spreadsheets. Users, sessions, credentials and responder ids live beside
// them. Both engines run the same code: the queries are written once (internal/sqldb).
//
// Place names (county, township, village) and home and device ids may appear in logs,
// metrics and InfluxDB tags. Elder names, addresses, person names and phone numbers are
// personal data: they are stored here only, and nothing in this package logs them or
// puts them into an error message.
package registry

import (
	"errors"
	"strconv"

	"carebed/alerting"
	"carebed/gateway/registry/internal/ledger"
)

// ErrNotFound is returned (wrapped) when a device, home or township is not in the registry.
var ErrNotFound = errors.New("registry: not found")

// ErrBadRows is returned (wrapped) by Import when the file has bad rows and
// ImportOptions.SkipBad is not set, or when its header cannot be read; the
// ImportReport then lists the errors and nothing was imported.
var ErrBadRows = errors.New("registry: the file has bad rows")

// Contact roles, the values of Person.Role: the people of alerting's ladders. (The
// device kinds of Device.Kind and the default heartbeat are the ledger's words,
// registry/internal/ledger, where the bed ledger is read.)
const (
	RoleVillageVisitor = string(alerting.ReceiverVillageVisitor)
	RoleVillageDoctor  = string(alerting.ReceiverVillageDoctor)
	RoleFamily         = string(alerting.ReceiverFamily)
	RoleTownshipClinic = string(alerting.ReceiverTownshipClinic)
)

// Place is where a device is: the names of its county, township and village, and the
// ledger id (户编号) of its home. None of these is personal data.
type Place struct {
	County, Township, Village, Home string
}

// Device is one registered device. Lat and Lon are its home's coordinates, both 0 when
// the ledger gives none.
type Device struct {
	ID, Kind   string
	HeartbeatS int
	Place      Place
	Lat, Lon   float64
	// Mobile: the device's home moves with its herds (ledger column 流动/游牧).
	Mobile bool
	// Phone is an sms_phone's own number (ledger column device_phone); personal data.
	Phone string
}

// SMSOnly reports whether d is an elder's own phone (sms_phone): it never connects
// by MQTT, holds no broker credentials, sends no heartbeats and is never offline;
// an SMS from its Phone asking for help raises its SOS.
func (d Device) SMSOnly() bool { return d.Kind == ledger.KindSMSPhone }

// Person is someone to reach for a home. Role is one of the Role constants; Phone is
// normalised (+86XXXXXXXXXXX or E.164). Name is personal data, as is Phone; family
// members have no Name (the ledger gives only their phones).
type Person struct {
	Role, Name, Phone string
}

// Summary counts what the registry holds.
type Summary struct {
	Counties, Townships, Villages, Homes, Devices int
}

// ImportOptions controls Import.
type ImportOptions struct {
	// SkipBad imports the good rows of a file that has bad rows; without it a single
	// bad row means nothing is imported.
	SkipBad bool
}

// RowError is one bad row of a ledger: its 1-based line in the file (the header is
// line 1), the canonical (English) name of the column at fault, empty when the fault
// is not in one column, and the reason. Reasons never quote personal data.
type RowError struct {
	Line   int
	Column string
	Reason string
}

// Error returns "line 7: device_id: reason", or "line 7: reason" without a column.
func (e RowError) Error() string {
	if e.Column == "" {
		return "line " + strconv.Itoa(e.Line) + ": " + e.Reason
	}
	return "line " + strconv.Itoa(e.Line) + ": " + e.Column + ": " + e.Reason
}

// ImportReport tells what Import did. Rows counts the data rows read (blank rows are
// skipped); each good row counts once as Imported (its device is new), Updated (its
// device, home, contacts or township clinic phone changed) or Unchanged, and each bad
// row has exactly one entry in Errors. When nothing was imported, Imported, Updated and
// Unchanged are 0.
type ImportReport struct {
	Rows, Imported, Updated, Unchanged int
	Errors                             []RowError
}
