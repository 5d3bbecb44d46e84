package ledger

import (
	"strings"
	"unicode/utf8"
)

// column is one column of the bed ledger.
type column int

// The ledger's columns. Those before colClinicPhone must be in every header.
const (
	colCounty column = iota
	colTownship
	colVillage
	colHome
	colElder
	colAddress
	colLat
	colLon
	colDevice
	colKind
	colVisitorName
	colVisitorPhone
	colDoctorName
	colDoctorPhone
	colFamilyPhone
	colClinicPhone
	colHeartbeat
	colCareGroup
	colVisitDays
	colRoundDays
	colMobile
	colDevicePhone
	numColumns
)

// columnNames are the canonical (English) header names, also used in Error.Column.
var columnNames = [numColumns]string{
	"county", "township", "village", "home_id", "elder_name", "address", "lat", "lon",
	"device_id", "device_kind", "visitor_name", "visitor_phone", "doctor_name",
	"doctor_phone", "family_phone", "clinic_phone", "heartbeat_s", "care_group", "visit_days", "round_days", "mobile",
	"device_phone",
}

// columnNamesZH are the Chinese header names accepted for the same columns.
var columnNamesZH = [numColumns]string{
	"县", "乡镇", "村", "户编号", "老人姓名", "地址", "纬度", "经度",
	"设备编号", "设备类型", "探访员", "探访员电话", "村医",
	"村医电话", "家属电话", "卫生院电话", "心跳间隔", "照护类别", "探访周期", "巡诊周期", "流动",
	"设备电话",
}

// mobileAliasZH is a second Chinese header for the mobile column.
const mobileAliasZH = "游牧"

// requiredCells are the columns no row may leave empty.
var requiredCells = []column{colCounty, colTownship, colVillage, colHome, colDevice, colKind}

// String returns the canonical column name.
func (c column) String() string { return columnNames[c] }

// lookupColumn returns the column a header cell names, in English (any case) or Chinese.
func lookupColumn(name string) (column, bool) {
	for c := range numColumns {
		if strings.EqualFold(name, columnNames[c]) || name == columnNamesZH[c] {
			return c, true
		}
	}
	if name == mobileAliasZH {
		return colMobile, true
	}
	return 0, false
}

// header maps each column to its index in a record, -1 when the file lacks it.
// Header cells left empty mark columns that are ignored.
type header struct {
	index [numColumns]int
	width int
}

// parseHeader reads the header record. It returns a line-1 Error when a cell is
// unknown, repeated or not UTF-8, or when a required column is missing.
func parseHeader(rec []string) (header, *Error) {
	h := header{width: len(rec)}
	for c := range h.index {
		h.index[c] = -1
	}
	for i, cell := range rec {
		if e := h.add(i, strings.TrimSpace(cell)); e != nil {
			return h, e
		}
	}
	for c := range colClinicPhone {
		if h.index[c] < 0 {
			return h, &Error{Line: 1, Column: c.String(), Reason: "missing column (" + columnNamesZH[c] + ")"}
		}
	}
	return h, nil
}

// add records that header cell i is name.
func (h *header) add(i int, name string) *Error {
	if name == "" {
		return nil
	}
	if !utf8.ValidString(name) {
		return &Error{Line: 1, Reason: "the header is not UTF-8 text (save the sheet as \"CSV UTF-8\")"}
	}
	c, ok := lookupColumn(name)
	if !ok {
		return &Error{Line: 1, Column: name, Reason: "unknown column"}
	}
	if h.index[c] >= 0 {
		return &Error{Line: 1, Column: c.String(), Reason: "column appears twice"}
	}
	h.index[c] = i
	return nil
}

// cells returns the trimmed cells of rec by column, "" for columns the file lacks.
func (h *header) cells(rec []string) (out [numColumns]string) {
	for c, i := range h.index {
		if i >= 0 {
			out[c] = strings.TrimSpace(rec[i])
		}
	}
	return out
}

// blank reports whether every cell of rec is empty or spaces (a spreadsheet's
// leftover row).
func blank(rec []string) bool {
	for _, cell := range rec {
		if strings.TrimSpace(cell) != "" {
			return false
		}
	}
	return true
}
