package registry

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// countyLedger returns a ledger of one county-sized registry: homes × 3 devices.
func countyLedger(homes int) string {
	var b strings.Builder
	b.WriteString(testHeader)
	kinds := []string{"sos_pendant", "fall_sensor", "bed_sensor"}
	for h := range homes {
		for i, kind := range kinds {
			fmt.Fprintf(&b, "和静县,乡镇%02d,村%03d,H-%05d,Test Elder,Addr,42.3,86.4,hj-%05d-%d,%s,V,13800000001,D,13800000002,13800000003\n",
				h%12, h%300, h, h, i, kind)
		}
	}
	return b.String()
}

func BenchmarkDevices(b *testing.B) {
	s := openTest(b)
	rep, err := importString(b, s, countyLedger(10000), ImportOptions{})
	if err != nil || rep.Imported != 30000 {
		b.Fatalf("import = %+v, %v", rep, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		all, err := s.Devices(context.Background())
		if err != nil || len(all) != 30000 {
			b.Fatalf("Devices() = %d, %v", len(all), err)
		}
	}
}

func BenchmarkImport(b *testing.B) {
	ledger := countyLedger(10000)
	for _, name := range []string{"new", "unchanged"} {
		b.Run(name, func(b *testing.B) {
			s := openTest(b)
			if name == "unchanged" {
				if _, err := importString(b, s, ledger, ImportOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			for b.Loop() {
				b.StopTimer()
				if name == "new" {
					s = openTest(b)
				}
				b.StartTimer()
				if _, err := importString(b, s, ledger, ImportOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestWriteListHasNoPersonalData(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		mustImport(t, s, "ledger_sample.csv")
		mustImport(t, s, "ledger_en.csv")
		out := list(t, s)
		for _, secret := range []string{"测试", "Test", "138", "+86", "+49", "组", "Tashidian"} {
			if strings.Contains(out, secret) {
				t.Errorf("list shows personal data %q:\n%s", secret, out)
			}
		}
	})
}
