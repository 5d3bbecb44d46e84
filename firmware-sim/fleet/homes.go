package fleet

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"carebed/gateway/protocol"
)

// LedgerDevice is one row of a bed ledger as the simulator needs it.
type LedgerDevice struct {
	ID, Kind, Home, Village string
	// Heartbeat is the ledger's heartbeat interval (心跳间隔, seconds); 0 when the
	// ledger has none or it is not a whole number of seconds.
	Heartbeat time.Duration
	// Lat and Lon are the home's coordinates (纬度, 经度); HasPos says the ledger
	// gave both.
	Lat, Lon float64
	HasPos   bool
	// Mobile marks a household that moves with its herds (流动 or 游牧: 是).
	Mobile bool
	// Phone is an SMS-only phone's own number (device_phone, 设备电话).
	Phone string
}

// ledgerColumns maps the header names the simulator reads, English or Chinese, to
// what they hold.
var ledgerColumns = map[string]string{"device_id": "id", "设备编号": "id", "device_kind": "kind", "设备类型": "kind",
	"home_id": "home", "户编号": "home", "village": "village", "村": "village", "heartbeat_s": "heartbeat", "心跳间隔": "heartbeat",
	"lat": "lat", "纬度": "lat", "lon": "lon", "经度": "lon", "mobile": "mobile", "流动": "mobile", "游牧": "mobile",
	"device_phone": "phone", "设备电话": "phone"}

// ReadLedger reads the devices of a bed ledger CSV (the file the registry imports;
// English or Chinese header).
func ReadLedger(r io.Reader) ([]LedgerDevice, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("ledger header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		if c, ok := ledgerColumns[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))]; ok {
			col[c] = i
		}
	}
	for _, c := range []string{"id", "kind", "home"} {
		if _, ok := col[c]; !ok {
			return nil, errors.New("ledger: no device_id/设备编号, device_kind/设备类型 or home_id/户编号 column")
		}
	}
	if _, ok := col["village"]; !ok {
		col["village"] = col["home"] // a ledger without villages: each home its own
	}
	var out []LedgerDevice
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			FillHomes(out)
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if d, ok := ledgerRow(rec, col); ok {
			out = append(out, d)
		}
	}
}

// ledgerRow reads one record; false when it is too short to name its device.
func ledgerRow(rec []string, col map[string]int) (LedgerDevice, bool) {
	field := func(c string) string {
		if i, ok := col[c]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	if len(rec) <= max(col["id"], col["kind"], col["home"], col["village"]) {
		return LedgerDevice{}, false
	}
	d := LedgerDevice{ID: field("id"), Kind: normalKind(field("kind")), Home: field("home"), Village: field("village")}
	if s, err := strconv.Atoi(field("heartbeat")); err == nil && s > 0 && s <= 86400 {
		d.Heartbeat = time.Duration(s) * time.Second
	}
	lat, errLat := strconv.ParseFloat(field("lat"), 64)
	lon, errLon := strconv.ParseFloat(field("lon"), 64)
	if errLat == nil && errLon == nil && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
		d.Lat, d.Lon, d.HasPos = lat, lon, true
	}
	switch strings.ToLower(field("mobile")) {
	case "是", "流动", "游牧", "yes", "y", "1", "true":
		d.Mobile = true
	}
	d.Phone = field("phone")
	return d, true
}

// Homes' rows may leave home columns blank to repeat another row's; FillHomes
// gives every row of a home the coordinates and the mobile mark any of them has.
func FillHomes(devs []LedgerDevice) {
	type home struct {
		lat, lon    float64
		pos, mobile bool
	}
	by := map[string]*home{}
	for _, d := range devs {
		h := by[d.Home]
		if h == nil {
			h = &home{}
			by[d.Home] = h
		}
		if d.HasPos && !h.pos {
			h.lat, h.lon, h.pos = d.Lat, d.Lon, true
		}
		h.mobile = h.mobile || d.Mobile
	}
	for i := range devs {
		h := by[devs[i].Home]
		if !devs[i].HasPos && h.pos {
			devs[i].Lat, devs[i].Lon, devs[i].HasPos = h.lat, h.lon, true
		}
		devs[i].Mobile = h.mobile
	}
}

// SMSPhone is the kind of an SMS-only phone (手机): it never connects by MQTT.
const SMSPhone = "sms_phone"

// LedgerDevices reads the ids and kinds of the devices of a bed ledger CSV that
// speak MQTT (all but SMS-only phones).
func LedgerDevices(r io.Reader) (map[string]string, error) {
	devs, err := ReadLedger(r)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(devs))
	for _, d := range devs {
		if d.Kind != SMSPhone {
			out[d.ID] = d.Kind
		}
	}
	return out, nil
}

// Homes is a Payload for demo homes: bed sensors follow a day with sleep at night,
// pendants and other devices send a heartbeat with battery and signal, and now and
// then (every 500th report) a pendant's wearer presses SOS. Scripted events come
// from a scenario (package scenario).
func Homes(kinds map[string]string) Payload {
	var mu sync.Mutex
	count := map[string]int{}
	return func(device string, seq uint64, now time.Time) (string, []byte) {
		kind := normalKind(kinds[device])
		mu.Lock()
		count[device]++
		n := count[device]
		mu.Unlock()
		if kind == "sos_pendant" && n%500 == 0 {
			return protocol.DeviceTopic(device, protocol.KindEvent),
				protocol.EncodeEvent(protocol.Event{Seq: seq, TS: now.UnixMilli(), Type: protocol.EventSOS})
		}
		batt := math.Max(5, 100-float64(seq%2000)/20)
		rssi := -60 - float64(seq%25)
		r := protocol.Reading{Seq: seq, TS: now.UnixMilli(), Battery: &batt, RSSI: &rssi}
		if kind == "bed_sensor" {
			bedReading(&r, seq, now)
		}
		return protocol.DeviceTopic(device, protocol.KindTelemetry), protocol.EncodeReading(r)
	}
}

// bedReading fills a bed sensor's occupancy and vital signs: in bed at night and for
// a nap after lunch, heart and breathing slower while asleep.
func bedReading(r *protocol.Reading, seq uint64, now time.Time) {
	h := now.Hour()
	occ := h >= 21 || h < 6 || h == 13
	r.Occupied = &occ
	if !occ {
		return
	}
	hr := 58 + 6*math.Sin(float64(seq)/9)
	rr := 13 + 2*math.Sin(float64(seq)/13)
	motion := 0.05 + 0.05*math.Abs(math.Sin(float64(seq)/5))
	r.HR, r.RR, r.Motion = &hr, &rr, &motion
}

// normalKind maps the ledger's device kind, English or one of the Chinese names
// county bureaus use, to the registry's kind names.
func normalKind(k string) string {
	l := strings.ToLower(k)
	for _, m := range []struct {
		kind  string
		words []string
	}{
		{"sos_pendant", []string{"sos", "pendant", "呼叫"}},
		{"fall_sensor", []string{"fall", "跌倒"}},
		{"bed_sensor", []string{"bed", "床", "睡眠"}},
		{"smoke_detector", []string{"smoke", "烟"}},
		{"gas_detector", []string{"gas", "燃气", "可燃"}},
		{"water_sensor", []string{"water", "水浸", "漏水"}},
		{"sms_phone", []string{"sms", "phone", "手机"}},
	} {
		for _, w := range m.words {
			if strings.Contains(l, w) {
				return m.kind
			}
		}
	}
	return k
}
