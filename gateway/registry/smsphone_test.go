package registry

import (
	"context"
	"errors"
	"testing"
)

// An elder's own phone (kind 手机 / sms_phone) is registered with its number in
// device_phone; the registry finds the device by that number, and the ledger refuses
// a phone row without a number, a number on another kind, the same number twice, and
// a number that is also a responder's (a "1" from it would be both an SOS and an
// acknowledgement), in either order.
func TestImportSMSPhones(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		const head = "县,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,探访员,探访员电话,村医,村医电话,家属电话,设备电话\n"
		const good = "和静县,巴音布鲁克镇,巴西里克村,H-0101,测试牧民甲,,,,hb-0101-phone,手机,,,,,13900000013,139 0000 0077\n"
		tests := []struct {
			name string
			rows string
			want []string
		}{
			{name: "good", rows: good},
			{name: "no number", rows: "和静县,巴音布鲁克镇,巴西里克村,H-0101,,,,,hb-0101-phone,sms_phone,,,,,,\n",
				want: []string{"line 2: device_phone: is empty; an sms_phone (手机) row needs the phone's own number"}},
			{name: "number on a pendant", rows: "和静县,巴音布鲁克镇,巴西里克村,H-0101,,,,,hb-0101-sos,sos_pendant,,,,,,13900000077\n",
				want: []string{"line 2: device_phone: only an sms_phone (手机) row takes a phone number"}},
			{name: "same number twice", rows: good + "和静县,巴音布鲁克镇,巴西里克村,H-0102,,,,,hb-0102-phone,手机,,,,,,13900000077\n",
				want: []string{"line 3: device_phone: the same phone is on line 2"}},
			{name: "a responder's number, after", rows: good + "和静县,巴音布鲁克镇,巴西里克村,H-0102,,,,,hb-0102-sos,sos_pendant,,,,,13900000077,\n",
				want: []string{"line 3: family_phone: is the elder's own phone (sms_phone) on line 2; an elder's own phone cannot be a responder's"}},
			{name: "a responder's number, before", rows: "和静县,巴音布鲁克镇,巴西里克村,H-0102,,,,,hb-0102-sos,sos_pendant,,,测试村医,13900000077,,\n" + good,
				want: []string{"line 3: device_phone: is also a visitor's, doctor's or family phone of home H-0102; an elder's own phone cannot be a responder's"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := openTest(t)
				rep, err := importString(t, s, head+tt.rows, ImportOptions{SkipBad: true})
				if err != nil {
					t.Fatal(err)
				}
				assertRowErrors(t, rep.Errors, tt.want)
			})
		}
		s := openTest(t)
		if _, err := importString(t, s, head+good, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		d, err := s.DeviceByPhone(context.Background(), "+8613900000077")
		if err != nil || d.ID != "hb-0101-phone" || !d.SMSOnly() || d.Place.Home != "H-0101" {
			t.Errorf("DeviceByPhone = %+v, %v; want hb-0101-phone, SMS only, of H-0101", d, err)
		}
		if _, err := s.DeviceByPhone(context.Background(), "+8613900000013"); !errors.Is(err, ErrNotFound) {
			t.Errorf("DeviceByPhone(a family phone) = %v, want ErrNotFound", err)
		}
	})
}
