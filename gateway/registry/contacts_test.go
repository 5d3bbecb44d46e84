package registry

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestHomeContacts(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		mustImport(t, s, "ledger_sample.csv")
		mustImport(t, s, "ledger_en.csv")
		tests := []struct {
			name, home string
			want       []Person
		}{
			{name: "everyone", home: "H-0001", want: []Person{
				{Role: RoleVillageVisitor, Name: "测试探访员甲", Phone: "+8613800000001"},
				{Role: RoleVillageDoctor, Name: "测试村医甲", Phone: "+8613800000002"},
				{Role: RoleFamily, Phone: "+8613800000003"},
				{Role: RoleFamily, Phone: "+8613800000004"},
				{Role: RoleTownshipClinic, Name: "哈尔莫敦镇卫生院", Phone: "+8613800000009"},
			}},
			{name: "spaces and dashes normalised", home: "H-0002", want: []Person{
				{Role: RoleVillageVisitor, Name: "测试探访员乙", Phone: "+8613800000011"},
				{Role: RoleVillageDoctor, Name: "测试村医乙", Phone: "+8613800000012"},
				{Role: RoleFamily, Phone: "+8613800000013"},
				{Role: RoleTownshipClinic, Name: "巴伦台镇卫生院", Phone: "+8613800000019"},
			}},
			{name: "quoted comma list, no clinic column", home: "H-0100", want: []Person{
				{Role: RoleVillageVisitor, Name: "Test Visitor A", Phone: "+8613800000101"},
				{Role: RoleVillageDoctor, Name: "Test Doctor A", Phone: "+8613800000102"},
				{Role: RoleFamily, Phone: "+8613800000103"},
				{Role: RoleFamily, Phone: "+8613800000104"},
			}},
			{name: "no visitor, family abroad", home: "H-0200", want: []Person{
				{Role: RoleVillageDoctor, Name: "Test Doctor B", Phone: "+8613800000202"},
				{Role: RoleFamily, Phone: "+4915112345678"},
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.HomeContacts(context.Background(), tt.home)
				if err != nil || !slices.Equal(got, tt.want) {
					t.Errorf("HomeContacts(%q) = %+v, %v;\nwant %+v", tt.home, got, err, tt.want)
				}
			})
		}
		if _, err := s.HomeContacts(context.Background(), "H-9999"); !errors.Is(err, ErrNotFound) {
			t.Errorf("HomeContacts(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

func TestHomeContactsNameWithoutPhone(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		csv := testHeader + "且末县,且末镇,托格拉克勒克村,H-7,,,,,qm-7-sos,sos_pendant,Test Visitor,,Test Doctor,13800000702,\n"
		if _, err := importString(t, s, csv, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := s.HomeContacts(context.Background(), "H-7")
		want := []Person{{Role: RoleVillageDoctor, Name: "Test Doctor", Phone: "+8613800000702"}}
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("HomeContacts = %+v, %v; want %+v", got, err, want)
		}
		// The visitor's name is kept: a re-import is unchanged.
		rep, err := importString(t, s, csv, ImportOptions{})
		if err != nil || rep.Unchanged != 1 {
			t.Errorf("re-import = %+v, %v; want 1 unchanged", rep, err)
		}
	})
}

func TestTownshipClinicPhone(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		mustImport(t, s, "ledger_sample.csv")
		mustImport(t, s, "ledger_en.csv")
		tests := []struct {
			name, county, township, want string
			err                          error
		}{
			{name: "given on every row", county: "和静县", township: "哈尔莫敦镇", want: "+8613800000009"},
			{name: "given on one row of two", county: "和静县", township: "巴伦台镇", want: "+8613800000019"},
			{name: "no clinic column", county: "库尔勒市", township: "塔什店镇", err: ErrNotFound},
			{name: "unknown township", county: "和静县", township: "没有这个镇", err: ErrNotFound},
			{name: "township of another county", county: "博湖县", township: "永宁镇", err: ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.TownshipClinicPhone(context.Background(), tt.county, tt.township)
				if got != tt.want || !errors.Is(err, tt.err) {
					t.Errorf("TownshipClinicPhone = %q, %v; want %q, %v", got, err, tt.want, tt.err)
				}
			})
		}
	})
}

func TestClinicPhoneKeptWhenFileHasNone(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		full := func(home, dev, clinic string) string {
			return testHeader[:len(testHeader)-1] + ",clinic_phone\n" +
				"若羌县,若羌镇,东城村," + home + ",,,,," + dev + ",sos_pendant,,,,,," + clinic + "\n"
		}
		for _, csv := range []string{full("H-1", "rq-1-sos", "13800000009"), full("H-2", "rq-2-sos", "")} {
			if _, err := importString(t, s, csv, ImportOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.TownshipClinicPhone(context.Background(), "若羌县", "若羌镇"); got != "+8613800000009" {
			t.Errorf("clinic phone %q, %v; want it kept", got, err)
		}
	})
}
