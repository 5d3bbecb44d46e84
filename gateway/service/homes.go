package service

import (
	"sync"
	"time"

	"carebed/gateway/points"
	"carebed/gateway/registry"
)

// homeRewrite is how often every home is written again even when nothing changed, so
// that each home has a point inside any dashboard time range of an hour or more, and
// inside the one-day default window of InfluxDB 3's SHOW TAG VALUES.
const homeRewrite = time.Hour

// homeLog remembers which homes were written to the home measurement, so a registry
// refresh writes only new and changed homes (and all of them every homeRewrite).
type homeLog struct {
	mu      sync.Mutex
	written map[string]points.HomePoint // by home id, At zeroed
	lastAll time.Time
}

// writeHomes writes homes (homesOf the registry's devices) to InfluxDB (the home measurement, through
// the durable spool) for the dashboards' map and place variables. It does nothing
// before the spool is open (the first load in New: the first refresh writes them)
// and logs a failure, which the next refresh retries.
func (g *Gateway) writeHomes(homes map[string]points.HomePoint) {
	if g.spool == nil {
		return
	}
	g.homes.mu.Lock()
	defer g.homes.mu.Unlock()
	now := g.now()
	due := g.homes.due(homes, now)
	if len(due) == 0 {
		return
	}
	if err := g.spool.Append(homeRecords(due, now)); err != nil {
		g.log.Warn("writing homes for the home measurement; retried at the next refresh", "homes", len(due), "err", err)
		return
	}
	g.homes.mark(due, now)
}

// homesOf groups devices by home: place, coordinates and how many devices it has.
func homesOf(devs []registry.Device) map[string]points.HomePoint {
	homes := make(map[string]points.HomePoint)
	for _, d := range devs {
		h := homes[d.Place.Home]
		h.County, h.Township, h.Village, h.Home = d.Place.County, d.Place.Township, d.Place.Village, d.Place.Home
		h.Lat, h.Lon, h.HasLoc = d.Lat, d.Lon, d.Lat != 0 || d.Lon != 0
		h.Devices++
		homes[d.Place.Home] = h
	}
	return homes
}

// due returns the homes to write now: new or changed ones, a point with no devices
// for each home written before that has none now, or every home when homeRewrite
// has passed since they were last all written.
func (l *homeLog) due(homes map[string]points.HomePoint, now time.Time) []points.HomePoint {
	all := now.Sub(l.lastAll) >= homeRewrite
	var out []points.HomePoint
	for id, h := range homes {
		if old, ok := l.written[id]; all || !ok || old != h {
			out = append(out, h)
		}
	}
	for id, old := range l.written {
		if _, ok := homes[id]; !ok && old.Devices > 0 {
			old.Devices = 0
			out = append(out, old)
		}
	}
	return out
}

// mark records homes as written at now.
func (l *homeLog) mark(homes []points.HomePoint, now time.Time) {
	if l.written == nil {
		l.written = make(map[string]points.HomePoint, len(homes))
	}
	all := now.Sub(l.lastAll) >= homeRewrite
	for _, h := range homes {
		l.written[h.Home] = h
	}
	if all {
		l.lastAll = now
	}
}

// homeRecords makes one spool record per home.
func homeRecords(homes []points.HomePoint, now time.Time) [][]byte {
	recs := make([][]byte, len(homes))
	for i, h := range homes {
		h.At = now
		recs[i] = points.AppendHome(points.AppendRecordHeader(nil, "home"), h)
	}
	return recs
}
