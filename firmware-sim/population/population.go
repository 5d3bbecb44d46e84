// Package population makes simulated homes: a bed ledger in the CSV format county
// bureaus keep (the file `gateway registry import` reads), generated from a seed so
// that runs repeat, with three devices per home (SOS pendant, wearable fall sensor,
// bed sensor), and optionally herder homes (流动 是) with a pendant and an SMS-only
// phone each. Names and phone numbers are obviously fake.
package population

import (
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
)

// places are real counties, townships and villages of Bayingolin (巴州) to make the
// data look familiar to duty staff; the homes in them are invented.
var places = []struct {
	county, township string
	villages         []string
	lat, lon         float64
}{
	{"和静县", "哈尔莫敦镇", []string{"哈尔莫敦村", "查汗通古村", "夏尔布鲁克村"}, 42.29, 86.31},
	{"和静县", "巴伦台镇", []string{"巴伦台村", "古尔温苏门村"}, 42.75, 86.30},
	{"焉耆回族自治县", "七个星镇", []string{"霍拉山村", "七个星村", "乌什塔拉村"}, 42.06, 86.36},
	{"博湖县", "本布图镇", []string{"本布图村", "阿洪口村"}, 41.98, 86.63},
	{"轮台县", "轮南镇", []string{"轮南村", "阿克萨来村"}, 41.78, 84.27},
}

// Header is the ledger's header row, in Chinese as the bureaus write it.
var Header = []string{"县", "乡镇", "村", "户编号", "老人姓名", "地址", "纬度", "经度", "设备编号", "设备类型",
	"探访员", "探访员电话", "村医", "村医电话", "家属电话", "卫生院电话", "心跳间隔"}

// Kinds are the devices of every home, with their heartbeat interval in seconds.
var Kinds = []struct {
	Suffix, Kind string
	Heartbeat    int
}{{"sos", "sos_pendant", 300}, {"fall", "fall_sensor", 300}, {"bed", "bed_sensor", 60}}

var surnames = []rune("王李张刘陈杨赵黄周吴马阿热艾买")

// HerderHeader is the header of a ledger with herder homes: Header and the
// columns 流动 (mobile) and 设备电话 (device_phone, an SMS-only phone's own number).
var HerderHeader = append(append([]string(nil), Header...), "流动", "设备电话")

// Herder devices: a pendant with a satellite receiver, and an SMS-only phone.
const (
	HerderPendant = "sos_pendant"
	SMSPhone      = "sms_phone"
)

// herderPlace is where the generated herders live: 巴音布鲁克镇 of 和静县, whose
// households summer on the Bayanbulak grassland.
var herderPlace = struct {
	county, township string
	villages         []string
	lat, lon         float64
}{"和静县", "巴音布鲁克镇", []string{"巴西里克村", "赛罕陶海村"}, 43.03, 84.15}

// Options say what ledger Write makes.
type Options struct {
	// Homes is the number of homes with a pendant, a fall sensor and a bed sensor.
	Homes int
	// Herders is the number of herder homes after them (mobile: 是), each with a
	// pendant (hNNNNN-sos, sos_pendant) and an SMS-only phone (hNNNNN-phone,
	// sms_phone, its number in 设备电话: 1384 and the home's number). With herders
	// the header has the columns 流动 and 设备电话 (HerderHeader).
	Herders int
	// Seed makes the names and coordinates.
	Seed uint64
}

// Write writes a ledger of homes homes generated from seed to w, without herders.
func Write(w io.Writer, homes int, seed uint64) error {
	return WriteWith(w, Options{Homes: homes, Seed: seed})
}

// WriteWith writes the ledger o describes to w.
func WriteWith(w io.Writer, o Options) error {
	homes, seed := o.Homes, o.Seed
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cw := csv.NewWriter(w)
	header, extra := Header, []string(nil)
	if o.Herders > 0 {
		header, extra = HerderHeader, []string{"", ""}
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	for h := range homes {
		p := places[h%len(places)]
		village := p.villages[(h/len(places))%len(p.villages)]
		vi := villageIndex(p.villages, village) + h%len(places)*10
		home := fmt.Sprintf("H-%05d", h+1)
		elder := fmt.Sprintf("测试老人%c%d", surnames[r.IntN(len(surnames))], h+1)
		lat, lon := p.lat+r.Float64()*0.1-0.05, p.lon+r.Float64()*0.1-0.05
		for _, k := range Kinds {
			row := []string{p.county, p.township, village, home, elder, fmt.Sprintf("%s%d组%d号", village, h%7+1, h+1),
				fmt.Sprintf("%.4f", lat), fmt.Sprintf("%.4f", lon), DeviceID(h+1, k.Suffix), k.Kind,
				fmt.Sprintf("测试探访员%d", vi), phone(1, vi), fmt.Sprintf("测试村医%d", vi), phone(2, vi),
				phone(3, h+1), phone(4, h%len(places)), fmt.Sprint(k.Heartbeat)}
			if err := cw.Write(append(row, extra...)); err != nil {
				return err
			}
		}
	}
	for i := range o.Herders {
		if err := writeHerder(cw, r, homes+i+1, i); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeHerder writes the rows of herder home n (1-based), the i-th herder.
func writeHerder(cw *csv.Writer, r *rand.Rand, n, i int) error {
	p := herderPlace
	village := p.villages[i%len(p.villages)]
	vi := 100 + i%len(p.villages)
	elder := fmt.Sprintf("测试牧民%c%d", surnames[r.IntN(len(surnames))], n)
	lat, lon := p.lat+r.Float64()*0.1-0.05, p.lon+r.Float64()*0.1-0.05
	for _, d := range []struct{ suffix, kind, heartbeat, phone string }{
		{"sos", HerderPendant, "300", ""}, {"phone", SMSPhone, "", phone(5, n)},
	} {
		row := []string{p.county, p.township, village, fmt.Sprintf("H-%05d", n), elder, fmt.Sprintf("%s冬窝子%d号", village, n),
			fmt.Sprintf("%.4f", lat), fmt.Sprintf("%.4f", lon), DeviceID(n, d.suffix), d.kind,
			fmt.Sprintf("测试探访员%d", vi), phone(1, vi), fmt.Sprintf("测试村医%d", vi), phone(2, vi),
			phone(3, n), phone(4, 99), d.heartbeat, "是", d.phone}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	return nil
}

// DeviceID is the id of device suffix (sos, fall, bed) of home n (1-based).
func DeviceID(n int, suffix string) string { return fmt.Sprintf("h%05d-%s", n, suffix) }

func villageIndex(vs []string, v string) int {
	for i, x := range vs {
		if x == v {
			return i
		}
	}
	return 0
}

// phone makes an obviously fake mobile number: 1380 (visitors), 1381 (doctors),
// 1382 (families), 1383 (clinics), 1384 (herders' own SMS-only phones), then the
// index.
func phone(class, n int) string { return fmt.Sprintf("138%d%07d", class-1, n) }
