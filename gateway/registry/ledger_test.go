package registry

import (
	"context"
	"errors"
	"testing"
)

func TestImportHeader(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		tests := []struct {
			name, csv, want string
		}{
			{name: "empty file", csv: "", want: "line 1: the file is empty; want a header row"},
			{name: "BOM only", csv: "\ufeff", want: "line 1: the file is empty; want a header row"},
			{name: "missing column", csv: "county,township,village,home_id,device_id,device_kind\n",
				want: "line 1: elder_name: missing column (老人姓名)"},
			{name: "unknown column", csv: testHeader[:len(testHeader)-1] + ",备注\n", want: "line 1: 备注: unknown column"},
			{name: "column twice", csv: testHeader[:len(testHeader)-1] + ",县\n", want: "line 1: county: column appears twice"},
			{name: "not utf-8", csv: "\xcf\xd8," + testHeader, want: `line 1: the header is not UTF-8 text (save the sheet as "CSV UTF-8")`},
			{name: "bad quoting", csv: "county,\"township\n", want: "line 1: CSV: extraneous or missing \" in quoted-field"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := openTest(t)
				rep, err := importString(t, s, tt.csv, ImportOptions{SkipBad: true})
				if !errors.Is(err, ErrBadRows) {
					t.Fatalf("error %v, want ErrBadRows even with SkipBad", err)
				}
				assertRowErrors(t, rep.Errors, []string{tt.want})
			})
		}
	})
}

func TestImportHeaderVariants(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		row := "和静县,和静镇,查汗通古村,H-1,,,,,hj-1-sos,紧急呼叫器,,,,,\n"
		tests := []struct{ name, header string }{
			{name: "upper case", header: "COUNTY,Township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone\n"},
			{name: "spaces around names", header: " 县 ,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,探访员,探访员电话,村医,村医电话,家属电话\n"},
			{name: "BOM and mixed languages", header: "\ufeff县,township,村,home_id,老人姓名,address,纬度,lon,设备编号,device_kind,探访员,visitor_phone,村医,doctor_phone,家属电话\n"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := openTest(t)
				rep, err := importString(t, s, tt.header+row, ImportOptions{})
				if err != nil || rep.Imported != 1 {
					t.Fatalf("import = %+v, %v", rep, err)
				}
			})
		}
	})
}

func TestImportRowChecks(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		tests := []struct {
			name string
			rows string
			want []string
		}{
			{name: "duplicate device id", rows: "且末县,且末镇,A村,H-1,,,,,qm-1,sos_pendant,,,,,\n" +
				"且末县,且末镇,A村,H-2,,,,,qm-2,sos_pendant,,,,,\n" +
				"且末县,且末镇,A村,H-3,,,,,qm-1,fall_sensor,,,,,\n",
				want: []string{`line 4: device_id: "qm-1" is also on line 2`}},
			{name: "duplicate of a bad row", rows: "且末县,且末镇,A村,H-1,,,,,qm-1,tv,,,,,\n" +
				"且末县,且末镇,A村,H-1,,,,,qm-1,sos_pendant,,,,,\n",
				want: []string{`line 2: device_kind: unknown device kind "tv"; want sos_pendant, fall_sensor, bed_sensor, smoke_detector, gas_detector, water_sensor or sms_phone`,
					`line 3: device_id: "qm-1" is also on line 2`}},
			{name: "home in another county", rows: "且末县,且末镇,A村,H-1,,,,,qm-1,sos_pendant,,,,,\n" +
				"若羌县,且末镇,A村,H-1,,,,,qm-2,sos_pendant,,,,,\n",
				want: []string{"line 3: county: home H-1 is in county 且末县 on line 2"}},
			{name: "home location differs", rows: "且末县,且末镇,A村,H-1,,,38.1,85.5,qm-1,sos_pendant,,,,,\n" +
				"且末县,且末镇,A村,H-1,,,38.2,85.5,qm-2,sos_pendant,,,,,\n",
				want: []string{"line 3: lat: differs from line 2 for home H-1"}},
			{name: "family differs", rows: "且末县,且末镇,A村,H-1,,,,,qm-1,sos_pendant,,,,,13800000001\n" +
				"且末县,且末镇,A村,H-1,,,,,qm-2,sos_pendant,,,,,13800000002\n",
				want: []string{"line 3: family_phone: differs from line 2 for home H-1"}},
			{name: "blank cells inherit", rows: "且末县,且末镇,A村,H-1,,,,,qm-1,sos_pendant,,,,,13800000001\n" +
				"且末县,且末镇,A村,H-1,Test Elder,,38.1,85.5,qm-2,sos_pendant,,,,,\n" +
				"且末县,且末镇,A村,H-1,Test Elder,,38.1,85.5,qm-3,sos_pendant,,,,,13800000001\n"},
			{name: "required cells", rows: "且末县,且末镇,A村,,,,,,qm-1,sos_pendant,,,,,\n" +
				"且末县,且末镇,A村,H-1,,,,,,sos_pendant,,,,,\n" +
				"且末县,且末镇,A村,H-1,,,,,qm-3,,,,,,\n",
				want: []string{"line 2: home_id: is empty", "line 3: device_id: is empty", "line 4: device_kind: is empty"}},
			{name: "control character", rows: "且末县,且末镇,\"A\x01村\",H-1,,,,,qm-1,sos_pendant,,,,,\n",
				want: []string{"line 2: village: contains a control character"}},
			{name: "gbk cell", rows: "且末县,且末镇,\xb4\xe5,H-1,,,,,qm-1,sos_pendant,,,,,\n",
				want: []string{`line 2: village: not UTF-8 text (save the sheet as "CSV UTF-8")`}},
			{name: "bare quote", rows: "且末县,且末镇,A\"村,H-1,,,,,qm-1,sos_pendant,,,,,\n" +
				"且末县,且末镇,A村,H-2,,,,,qm-2,sos_pendant,,,,,\n",
				want: []string{`line 2: CSV: bare " in non-quoted-field`}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := openTest(t)
				rep, err := importString(t, s, testHeader+tt.rows, ImportOptions{SkipBad: true})
				if err != nil {
					t.Fatal(err)
				}
				assertRowErrors(t, rep.Errors, tt.want)
				if good := rep.Imported + rep.Updated + rep.Unchanged; good+len(rep.Errors) != rep.Rows {
					t.Errorf("report %+v does not add up", rep)
				}
			})
		}
	})
}

func TestImportMergedHome(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		rows := "且末县,且末镇,A村,H-1,,,,,qm-1,sos_pendant,,,,,13800000001\n" +
			"且末县,且末镇,A村,H-1,Test Elder,,38.1,85.5,qm-2,sos_pendant,,,,,\n"
		if _, err := importString(t, s, testHeader+rows, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"qm-1", "qm-2"} {
			d, err := s.Device(context.Background(), id)
			if err != nil || d.Lat != 38.1 || d.Lon != 85.5 {
				t.Errorf("Device(%s) = %+v, %v; want the home's location from line 3", id, d, err)
			}
		}
		people, err := s.HomeContacts(context.Background(), "H-1")
		if err != nil || len(people) != 1 || people[0].Phone != "+8613800000001" {
			t.Errorf("HomeContacts = %+v, %v; want the family phone from line 2", people, err)
		}
	})
}
