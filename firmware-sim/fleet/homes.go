package fleet

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"carebed/gateway/protocol"
)

// LedgerDevices reads device ids and kinds from a bed ledger CSV (the file the
// registry imports; English or Chinese header).
func LedgerDevices(r io.Reader) (map[string]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("ledger header: %w", err)
	}
	idCol, kindCol := -1, -1
	for i, h := range head {
		switch strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")) {
		case "device_id", "设备编号":
			idCol = i
		case "device_kind", "设备类型":
			kindCol = i
		}
	}
	if idCol < 0 || kindCol < 0 {
		return nil, errors.New("ledger: no device_id/设备编号 or device_kind/设备类型 column")
	}
	out := map[string]string{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if idCol < len(rec) && kindCol < len(rec) {
			out[strings.TrimSpace(rec[idCol])] = strings.TrimSpace(rec[kindCol])
		}
	}
}

// Homes is a Payload for demo homes: bed sensors follow a day with sleep at night,
// pendants and other devices send a heartbeat with battery and signal, and now and
// then a pendant's wearer presses SOS: the first pendant on its 8th message (about
// 15 s into a demo reporting every 2 s), every pendant on every 60th.
func Homes(kinds map[string]string) Payload {
	first := firstPendant(kinds)
	var mu sync.Mutex
	count := map[string]int{}
	return func(device string, seq uint64, now time.Time) (string, []byte) {
		kind := normalKind(kinds[device])
		mu.Lock()
		count[device]++
		n := count[device]
		mu.Unlock()
		if kind == "sos_pendant" && (n%60 == 0 || device == first && n == 8) {
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

// firstPendant is the pendant that presses SOS early in a demo.
func firstPendant(kinds map[string]string) string {
	var ids []string
	for id, k := range kinds {
		if normalKind(k) == "sos_pendant" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
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
// county bureaus use, to the simulator's three behaviours.
func normalKind(k string) string {
	l := strings.ToLower(k)
	switch {
	case strings.Contains(l, "sos") || strings.Contains(k, "呼叫") || strings.Contains(l, "pendant"):
		return "sos_pendant"
	case strings.Contains(l, "bed") || strings.Contains(k, "床") || strings.Contains(k, "睡眠"):
		return "bed_sensor"
	}
	return k
}
