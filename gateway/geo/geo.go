// Package geo answers "where is the person, seen from home" for people who read an
// SMS: the distance and compass direction from the home village in Chinese, and a
// map link that opens at the right spot in the map apps used in China.
//
// Devices send WGS-84 (GPS) coordinates. Maps in China (AMap/高德, Tencent, Apple
// Maps in China) draw in GCJ-02, the obfuscated datum required by Chinese
// regulation: a WGS-84 point put on them as is lands 100 to 700 m off. ToGCJ02 is the
// widely published conversion (Krasovsky ellipsoid, the "eviltransform" and
// "coordtransform" formulas); geo_test.go checks it against published pairs.
package geo

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Point is a position in degrees.
type Point struct {
	Lat, Lon float64
}

// Krasovsky 1940 ellipsoid, which the GCJ-02 formulas use.
const (
	krasovskyA  = 6378245.0
	krasovskyEE = 0.00669342162296594323
)

// InChina reports whether p lies in the rectangle where maps use GCJ-02 (the bounds
// every published implementation uses); outside it, ToGCJ02 leaves points as they are.
func InChina(p Point) bool {
	return p.Lon >= 72.004 && p.Lon <= 137.8347 && p.Lat >= 0.8293 && p.Lat <= 55.8271
}

// ToGCJ02 converts a WGS-84 point to GCJ-02.
func ToGCJ02(p Point) Point {
	if !InChina(p) {
		return p
	}
	x, y := p.Lon-105, p.Lat-35
	dLat := -100 + 2*x + 3*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	dLat += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	dLat += (20*math.Sin(y*math.Pi) + 40*math.Sin(y/3*math.Pi)) * 2 / 3
	dLat += (160*math.Sin(y/12*math.Pi) + 320*math.Sin(y*math.Pi/30)) * 2 / 3
	dLon := 300 + x + 2*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	dLon += (20*math.Sin(6*x*math.Pi) + 20*math.Sin(2*x*math.Pi)) * 2 / 3
	dLon += (20*math.Sin(x*math.Pi) + 40*math.Sin(x/3*math.Pi)) * 2 / 3
	dLon += (150*math.Sin(x/12*math.Pi) + 300*math.Sin(x/30*math.Pi)) * 2 / 3
	rad := p.Lat / 180 * math.Pi
	magic := 1 - krasovskyEE*math.Sin(rad)*math.Sin(rad)
	sqrtMagic := math.Sqrt(magic)
	dLat = dLat * 180 / (krasovskyA * (1 - krasovskyEE) / (magic * sqrtMagic) * math.Pi)
	dLon = dLon * 180 / (krasovskyA / sqrtMagic * math.Cos(rad) * math.Pi)
	return Point{Lat: p.Lat + dLat, Lon: p.Lon + dLon}
}

// earthRadiusM is the mean radius of the earth (IUGG), for great-circle distances.
const earthRadiusM = 6_371_008.8

// Distance returns the great-circle distance between a and b in metres (haversine).
func Distance(a, b Point) float64 {
	la1, la2 := rad(a.Lat), rad(b.Lat)
	dLat, dLon := la2-la1, rad(b.Lon-a.Lon)
	h := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(h)))
}

// Bearing returns the initial compass bearing from a to b, in degrees 0 (north) to
// 360, clockwise.
func Bearing(a, b Point) float64 {
	la1, la2, dLon := rad(a.Lat), rad(b.Lat), rad(b.Lon-a.Lon)
	y := math.Sin(dLon) * math.Cos(la2)
	x := math.Cos(la1)*math.Sin(la2) - math.Sin(la1)*math.Cos(la2)*math.Cos(dLon)
	return math.Mod(math.Atan2(y, x)*180/math.Pi+360, 360)
}

func rad(deg float64) float64 { return deg * math.Pi / 180 }

var directions = [8]string{"北", "东北", "东", "东南", "南", "西南", "西", "西北"}

// Direction names a bearing as one of the eight compass points in Chinese: 北, 东北,
// 东, 东南, 南, 西南, 西, 西北 (each covers 45°, centred on its direction).
func Direction(bearing float64) string {
	b := math.Mod(math.Mod(bearing, 360)+360, 360)
	return directions[int(math.Floor((b+22.5)/45))%8]
}

// DistanceText writes a distance the way people say it: "350 米" below 1 km (to 50
// m), "2.5 公里" below 10 km, "23 公里" from there.
func DistanceText(m float64) string {
	switch {
	case m < 950:
		return strconv.Itoa(int(math.Max(50, math.Round(m/50)*50))) + " 米"
	case m < 9950:
		return strconv.FormatFloat(math.Round(m/100)/10, 'f', -1, 64) + " 公里"
	}
	return strconv.Itoa(int(math.Round(m/1000))) + " 公里"
}

// Phrase says where to is seen from the place named from: "距哈尔莫敦村 23 公里 西北".
// Within accM (the fix's accuracy, at least 100 m) of the place it says
// "在哈尔莫敦村附近".
func Phrase(from string, home, to Point, accM float64) string {
	d := Distance(home, to)
	if d <= math.Max(accM, 100) {
		return "在" + from + "附近"
	}
	return "距" + from + " " + DistanceText(d) + " " + Direction(Bearing(home, to))
}

// MapLink returns an AMap (高德地图) link that opens at p, a WGS-84 point: on a phone
// with the AMap app it opens the app, otherwise AMap's web map. The point is
// converted to GCJ-02 here, since AMap draws in GCJ-02 and its default coordinate
// system for this link is GCJ-02 ("gaode"); converting ourselves rather than passing
// coordinate=wgs84 keeps the link short (an SMS segment holds 70 characters) and
// does not depend on every AMap client honouring that parameter. Five decimals are
// about 1 m.
func MapLink(p Point) string {
	g := ToGCJ02(p)
	return "https://uri.amap.com/marker?position=" + strconv.FormatFloat(g.Lon, 'f', 5, 64) + "," +
		strconv.FormatFloat(g.Lat, 'f', 5, 64)
}

// Home is the place a person lives: the village's name as people say it, and its
// coordinates (WGS-84, from the ledger).
type Home struct {
	Village string
	Point
}

// Fix is a position a device sent (WGS-84), its accuracy and when it was taken.
type Fix struct {
	Point
	AccM float64
	At   time.Time
}

// StaleAfter is how old a fix may be before Where says its age.
const StaleAfter = 10 * time.Minute

// Where is the text an SMS or page gives a responder: how far and in which
// direction from home the fix is, its age when older than StaleAfter, and the map
// link, e.g. "距哈尔莫敦村 23 公里 西北（2 小时前） https://uri.amap.com/marker?position=…".
func Where(home Home, fix Fix, now time.Time) string {
	s := Phrase(home.Village, home.Point, fix.Point, fix.AccM)
	if age := now.Sub(fix.At); age > StaleAfter {
		s += "（" + Age(age) + "前）"
	}
	return s + " " + MapLink(fix.Point)
}

// Age writes a duration as people say an age: "25 分钟", "3 小时", "2 天".
func Age(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d 分钟", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d 小时", int(d/time.Hour))
	}
	return fmt.Sprintf("%d 天", int(d/(24*time.Hour)))
}
