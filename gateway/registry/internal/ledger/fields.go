package ledger

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"carebed/alerting/policy"
)

// kindAliases maps what ledgers write in the device kind column (lower-cased) to the
// device kind.
var kindAliases = map[string]string{
	KindSOSPendant: KindSOSPendant, "紧急呼叫器": KindSOSPendant, "sos按钮": KindSOSPendant,
	"sos": KindSOSPendant, "一键呼叫器": KindSOSPendant, "紧急按钮": KindSOSPendant,
	KindFallSensor: KindFallSensor, "跌倒检测器": KindFallSensor, "跌倒报警器": KindFallSensor,
	"跌倒传感器": KindFallSensor, "跌倒监测器": KindFallSensor,
	KindBedSensor: KindBedSensor, "床垫传感器": KindBedSensor, "睡眠监测带": KindBedSensor,
	"离床传感器": KindBedSensor, "睡眠监测仪": KindBedSensor,
	KindSmokeDetector: KindSmokeDetector, "烟感": KindSmokeDetector, "烟雾报警器": KindSmokeDetector,
	"烟雾传感器": KindSmokeDetector, "烟感报警器": KindSmokeDetector,
	KindGasDetector: KindGasDetector, "燃气报警器": KindGasDetector, "燃气探测器": KindGasDetector,
	"可燃气体报警器":       KindGasDetector,
	KindWaterSensor: KindWaterSensor, "水浸传感器": KindWaterSensor, "水浸报警器": KindWaterSensor,
	"漏水传感器":      KindWaterSensor,
	KindSMSPhone: KindSMSPhone, "手机": KindSMSPhone, "老人手机": KindSMSPhone, "短信手机": KindSMSPhone,
}

// parseKind returns the device kind a ledger cell names.
func parseKind(cell string) (string, error) {
	if k, ok := kindAliases[strings.ToLower(cell)]; ok {
		return k, nil
	}
	return "", errors.New("unknown device kind " + strconv.Quote(cell) +
		"; want sos_pendant, fall_sensor, bed_sensor, smoke_detector, gas_detector, water_sensor or sms_phone")
}

// parseCoord parses a latitude or longitude cell that must lie within ±limit degrees.
func parseCoord(cell string, limit float64) (float64, error) {
	v, err := strconv.ParseFloat(cell, 64)
	if err != nil {
		return 0, errors.New("not a number")
	}
	if !(v >= -limit && v <= limit) { // also rejects NaN
		return 0, errors.New("out of range -" + strconv.Itoa(int(limit)) + ".." + strconv.Itoa(int(limit)))
	}
	return v, nil
}

// maxHeartbeatS is the longest heartbeat interval accepted: one day.
const maxHeartbeatS = 86400

// parseHeartbeat parses a heartbeat interval in seconds; blank means the default.
// parseMobile reads the mobile column: 是, 流动, 游牧, yes, y, 1 or true for a home
// that moves with its herds; empty, 否, 定居, no, n, 0 or false for one that does not.
func parseMobile(cell string) (bool, error) {
	switch strings.ToLower(cell) {
	case "", "否", "定居", "no", "n", "0", "false":
		return false, nil
	case "是", "流动", "游牧", "yes", "y", "1", "true":
		return true, nil
	}
	return false, errors.New("want 是 (the household moves with its herds: 流动, 游牧) or 否, or leave it empty")
}

func parseHeartbeat(cell string) (int, error) {
	if cell == "" {
		return DefaultHeartbeatS, nil
	}
	v, err := strconv.Atoi(cell)
	if err != nil || v < 1 || v > maxHeartbeatS {
		return 0, errors.New("want whole seconds from 1 to " + strconv.Itoa(maxHeartbeatS))
	}
	return v, nil
}

// errPhone says what a phone cell must hold; it never quotes the number.
var errPhone = errors.New("not a Chinese mobile number (11 digits starting with 1) " +
	"nor an E.164 number (+ and 8 to 15 digits)")

// normalizePhone removes spaces and dashes and returns a Chinese mobile number as
// +86XXXXXXXXXXX, or an E.164 number as it is.
func normalizePhone(s string) (string, error) {
	s = strings.Map(dropSeparator, s)
	if len(s) == 11 && s[0] == '1' && allDigits(s) {
		return "+86" + s, nil
	}
	if d, ok := strings.CutPrefix(s, "+"); ok && len(d) >= 8 && len(d) <= 15 && d[0] != '0' && allDigits(d) {
		return s, nil
	}
	return "", errPhone
}

// dropSeparator is a strings.Map function that drops spaces and dashes.
func dropSeparator(r rune) rune {
	switch r {
	case ' ', '\t', '\u00a0', '\u3000', '-', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\uff0d':
		return -1
	}
	return r
}

// allDigits reports whether s is ASCII digits only.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isPhoneListSeparator reports whether r separates the numbers of a family phone cell:
// ; ； / , ， or 、 (a comma only reaches a cell when the cell is quoted).
func isPhoneListSeparator(r rune) bool {
	switch r {
	case ';', '；', '/', ',', '，', '、':
		return true
	}
	return false
}

// parsePhoneList splits and normalises a family phone cell, dropping empty parts and
// repeats while keeping the ledger's order.
func parsePhoneList(cell string) ([]string, error) {
	var out []string
	for _, part := range strings.FieldsFunc(cell, isPhoneListSeparator) {
		if strings.TrimSpace(part) == "" {
			continue
		}
		p, err := normalizePhone(part)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// maxCellLen bounds every cell, in bytes.
const maxCellLen = 512

// checkCell rejects what a spreadsheet cell should not hold: more than maxCellLen
// bytes, invalid UTF-8 (a ledger saved in GBK rather than UTF-8) and control
// characters, except line breaks and tabs where multiline is true.
func checkCell(cell string, multiline bool) error {
	if len(cell) > maxCellLen {
		return errors.New("longer than " + strconv.Itoa(maxCellLen) + " bytes")
	}
	for _, r := range cell {
		switch {
		case r == '\uFFFD':
			return errors.New("not UTF-8 text (save the sheet as \"CSV UTF-8\")")
		case multiline && (r == '\n' || r == '\r' || r == '\t'):
		case r < 0x20 || r == 0x7f:
			return errors.New("contains a control character")
		}
	}
	return nil
}

// NormalizePhone is normalizePhone for the rest of the registry (users' phones).
func NormalizePhone(s string) (string, error) { return normalizePhone(s) }

// isCareGroupSeparator reports whether r separates the groups of a care group cell:
// 、 ; ； or , ， (a "/" is part of the names 独居/留守 and 特困/低保).
func isCareGroupSeparator(r rune) bool {
	switch r {
	case '、', ';', '；', ',', '，':
		return true
	}
	return false
}

// parseCareGroups reads a care group cell (照护类别): one or more of 独居/留守, 高龄,
// 失能, 重残, 特困/低保 (or their English keys). It returns their keys sorted and
// joined by ",", "" for a blank cell.
func parseCareGroups(cell string) (string, error) {
	var keys []string
	for _, part := range strings.FieldsFunc(cell, isCareGroupSeparator) {
		if strings.TrimSpace(part) == "" {
			continue
		}
		g, ok := policy.ParseCareGroup(part)
		if !ok {
			return "", errors.New("unknown care group " + strconv.Quote(strings.TrimSpace(part)) +
				"; want 独居/留守, 高龄, 失能, 重残 or 特困/低保, separated by 、 or ;")
		}
		if !slices.Contains(keys, string(g)) {
			keys = append(keys, string(g))
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ","), nil
}

// maxDays is the longest visit or round interval accepted: a year.
const maxDays = 366

// parseDays parses a visit or round interval in whole days; blank is 0 (none given).
// A trailing 天 is allowed.
func parseDays(cell string) (int, error) {
	cell = strings.TrimSpace(strings.TrimSuffix(cell, "天"))
	if cell == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(cell)
	if err != nil || v < 1 || v > maxDays {
		return 0, errors.New("want whole days from 1 to " + strconv.Itoa(maxDays))
	}
	return v, nil
}
