package directory

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/gateway/position"
	"carebed/gateway/registry"
)

// The responders near a far-away SOS are found once for its first step: the texts of
// their pages (From) reuse that list instead of reading the whole registry again for
// each page; a page resent after a restart reads it again.
func TestNearbyReadsTheRegistryOncePerAlert(t *testing.T) {
	reg, err := registry.Open(filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	ledger := "county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone,clinic_phone\n" +
		"和静县,巴音布鲁克镇,巴西里克村,H-0101,老人甲,地址,42.95,84.20,hb-0101-bed,bed_sensor,探访员丙,13800000042,村医丙,13800000041,,\n"
	if _, err := reg.Import(context.Background(), strings.NewReader(ledger), registry.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, err := reg.AllContacts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reads := 0
	nb := &Nearby{Dir: New(reg, policy.Default()), Near: func(context.Context, string, float64) ([]position.Near, error) {
		reads++
		var out []position.Near
		for _, c := range cs {
			out = append(out, position.Near{Contact: c, Metres: 9900, Way: "9.9 公里 西南"})
		}
		return out, nil
	}}
	a := alerting.Alert{ID: 7, Device: "hj-0002-sos", Kind: alerting.KindSOS, Place: alerting.Place{Home: "H-0002"}}
	ctx := context.Background()
	people, err := nb.Nearest(ctx, a, 5, 2)
	if err != nil || len(people) != 2 {
		t.Fatalf("Nearest = %+v, %v; want the doctor and the visitor", people, err)
	}
	for _, p := range people {
		if way, ok := nb.From(ctx, a, p); !ok || way != "9.9 公里 西南" {
			t.Errorf("From(%s) = %q, %v", p.ID, way, ok)
		}
	}
	if reads != 1 {
		t.Errorf("the registry was read %d times for one alert's first step, want once", reads)
	}
	resent := a
	resent.ID = 8 // not found by this process: read again
	if _, ok := nb.From(ctx, resent, people[0]); !ok || reads != 2 {
		t.Errorf("From for an alert not found here: ok %v, reads %d; want a read", ok, reads)
	}
}
