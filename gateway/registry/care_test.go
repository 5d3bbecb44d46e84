package registry

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// careLedger is a ledger in Chinese with the care columns: groups separated by 、
// and ;, a home's own intervals, one home on two rows (the second leaves the care
// columns blank) and a home with no care columns at all.
const careLedger = "县,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,探访员,探访员电话,村医,村医电话,家属电话,卫生院电话,心跳间隔,照护类别,探访周期,巡诊周期\n" +
	"和静县,和静镇,查汗通古村,H-0001,甲,一组,,,hj-0001-sos,紧急呼叫器,访员甲,13800000001,村医甲,13800000002,,13800000009,,独居/留守、失能,,\n" +
	"和静县,和静镇,查汗通古村,H-0001,,,,,hj-0001-bed,床垫传感器,,,,,,,,,,\n" +
	"和静县,和静镇,查汗通古村,H-0002,乙,二组,,,hj-0002-sos,紧急呼叫器,访员甲,13800000001,村医甲,13800000002,,,,高龄;特困/低保,10天,60\n" +
	"和静县,和静镇,查汗通古村,H-0003,丙,三组,,,hj-0003-sos,紧急呼叫器,访员甲,13800000001,,,,,,,,\n"

func TestImportCareColumns(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		rep, err := importString(t, s, careLedger, ImportOptions{})
		if err != nil || rep.Imported != 4 {
			t.Fatalf("import = %+v, %v", rep, err)
		}
		all, err := s.CareAll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			home         string
			groups       []string
			visit, round int
		}{
			{"H-0001", []string{"alone", "disabled"}, 0, 0},
			{"H-0002", []string{"aged", "subsidised"}, 10, 60},
			{"H-0003", nil, 0, 0},
		}
		if len(all) != len(want) {
			t.Fatalf("CareAll = %d homes, want %d", len(all), len(want))
		}
		for i, w := range want {
			c := all[i]
			if c.Place.Home != w.home || !slices.Equal(c.Groups, w.groups) || c.VisitDays != w.visit || c.RoundDays != w.round {
				t.Errorf("home %d = %+v, want %+v", i, c, w)
			}
			if c.VisitorPhone != "+8613800000001" {
				t.Errorf("home %s visitor phone not read", c.Place.Home)
			}
		}
		rep, err = importString(t, s, careLedger, ImportOptions{})
		if err != nil || rep.Unchanged != 4 {
			t.Errorf("importing again = %+v, %v; want all unchanged", rep, err)
		}
	})
}

func TestImportCareColumnErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		head := "county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone,care_group,visit_days,round_days\n"
		row := "且末县,且末镇,A村,H-%d,,,,,qm-%d,sos_pendant,,,,,,%s\n"
		tests := []struct{ cells, want string }{
			{"老年,,", "line 2: care_group: unknown care group \"老年\"; want 独居/留守, 高龄, 失能, 重残 or 特困/低保, separated by 、 or ;"},
			{",0,", "line 2: visit_days: want whole days from 1 to 366"},
			{",,abc", "line 2: round_days: want whole days from 1 to 366"},
		}
		for i, tt := range tests {
			s := openTest(t)
			rep, err := importString(t, s, head+fmt.Sprintf(row, i, i, tt.cells), ImportOptions{})
			if err == nil {
				t.Fatalf("%q imported", tt.cells)
			}
			assertRowErrors(t, rep.Errors, []string{tt.want})
		}
		s := openTest(t)
		conflict := head + fmt.Sprintf(row, 1, 1, "高龄,7,") + fmt.Sprintf(row, 1, 2, ",14,")
		rep, _ := importString(t, s, conflict, ImportOptions{})
		assertRowErrors(t, rep.Errors, []string{"line 3: visit_days: differs from line 2 for home H-1"})
	})
}

// TestMigrationKeepsOldHomes opens a registry written before the care columns
// (schema version 4) and finds its homes with no care groups and no intervals.
func TestMigrationKeepsOldHomes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	db, err := sql.Open("sqlite", path+dsnParams)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range migrations[:4] {
		if _, err := db.Exec(m); err != nil {
			t.Fatalf("migration %d: %v", i+1, err)
		}
	}
	for _, q := range []string{"PRAGMA user_version = 4", `INSERT INTO counties VALUES ('和静县')`,
		`INSERT INTO townships(county, name) VALUES ('和静县', '和静镇')`,
		`INSERT INTO villages VALUES ('和静县', '和静镇', 'A村')`,
		`INSERT INTO homes(id, county, township, village, elder, address) VALUES ('H-9', '和静县', '和静镇', 'A村', '', '')`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	db.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := s.CareOf(context.Background(), "H-9")
	if err != nil || c.Groups != nil || c.VisitDays != 0 || c.RoundDays != 0 {
		t.Errorf("old home after migration 5 = %+v, %v", c, err)
	}
}
