package registry

import (
	"context"
	"strings"
	"testing"
)

// The ledger marks herders' homes mobile (column 流动, or 游牧): every device of the
// home carries it, from any of the home's rows, and a re-import can clear it.
func TestImportMobileHomes(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		const head = "县,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,探访员,探访员电话,村医,村医电话,家属电话,游牧\n"
		csv := head +
			"和静县,巴音布鲁克镇,巴西里克村,H-0101,测试牧民甲,巴西里克村,,,hb-0101-sos,sos_pendant,,,,,,\n" +
			"和静县,巴音布鲁克镇,巴西里克村,H-0101,测试牧民甲,巴西里克村,,,hb-0101-fall,fall_sensor,,,,,,游牧\n" +
			"和静县,巴音布鲁克镇,巴西里克村,H-0102,测试牧民乙,巴西里克村,,,hb-0102-sos,sos_pendant,,,,,,否\n"
		if _, err := importString(t, s, csv, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]bool{"hb-0101-sos": true, "hb-0101-fall": true, "hb-0102-sos": false} {
			if d, err := s.Device(context.Background(), id); err != nil || d.Mobile != want {
				t.Errorf("%s: Mobile = %v (%v), want %v", id, d.Mobile, err, want)
			}
		}
		rep, err := importString(t, s, strings.ReplaceAll(csv, "fall_sensor,,,,,,游牧", "fall_sensor,,,,,,否"), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := s.Device(context.Background(), "hb-0101-sos"); d.Mobile || rep.Updated == 0 {
			t.Errorf("after re-import: Mobile = %v, report %+v; want false and updated rows", d.Mobile, rep)
		}
		_, err = importString(t, s, head+"和静县,巴音布鲁克镇,巴西里克村,H-0103,测试牧民丙,巴西里克村,,,hb-0103-sos,sos_pendant,,,,,,maybe\n", ImportOptions{})
		if err == nil || !strings.Contains(err.Error(), "mobile") {
			t.Errorf("bad mobile cell: %v, want an error naming the column", err)
		}
	})
}
