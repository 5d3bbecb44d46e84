package directory

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/gateway/registry"
)

func TestDirectory(t *testing.T) {
	reg, err := registry.Open(filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	ledger := "county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone,clinic_phone\n" +
		"和静县,巴伦台镇,巴伦台村,H-0001,老人甲,地址,,,dev-0001,sos_pendant,探访员,13800000011,村医,13800000012,13900000001;13900000002,13800000019\n" +
		"和静县,巴伦台镇,巴伦台村,H-0002,老人乙,地址,,,dev-0002,sos_pendant,探访员,13800000011,村医,13800000012,13900000003,13800000019\n"
	if _, err := reg.Import(context.Background(), strings.NewReader(ledger), registry.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	d := New(reg, policy.Default())
	ctx := context.Background()
	home := alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-0001"}
	cases := []struct {
		name   string
		place  alerting.Place
		r      alerting.Receiver
		phones string
	}{
		{"family", home, alerting.ReceiverFamily, "+8613900000001 +8613900000002"},
		{"doctor", home, alerting.ReceiverVillageDoctor, "+8613800000012"},
		{"visitor", home, alerting.ReceiverVillageVisitor, "+8613800000011"},
		{"clinic", home, alerting.ReceiverTownshipClinic, "+8613800000019"},
		{"village doctors once each", alerting.VillagePlace(home), alerting.ReceiverVillageDoctor, "+8613800000012"},
		{"no families for a village", alerting.VillagePlace(home), alerting.ReceiverFamily, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps, err := d.People(ctx, c.place, c.r)
			if err != nil {
				t.Fatal(err)
			}
			var phones []string
			for _, p := range ps {
				phones = append(phones, p.Phone)
				back, ok, err := d.Person(ctx, p.ID)
				if err != nil || !ok || back.Phone != p.Phone {
					t.Errorf("Person(%q) = %+v %v %v", p.ID, back, ok, err)
				}
				if strings.Contains(p.ID, p.Phone[3:]) || strings.Contains(p.ID, "老人") {
					t.Errorf("person id %q carries personal data", p.ID)
				}
			}
			if got := strings.Join(phones, " "); got != c.phones {
				t.Errorf("phones %q, want %q", got, c.phones)
			}
		})
	}
	both, err := d.PeopleByPhone(ctx, "+8613800000012")
	if err != nil || len(both) != 2 {
		t.Fatalf("the doctor of two homes: %+v %v", both, err)
	}
	if nobody, _ := d.PeopleByPhone(ctx, "+8613700000000"); len(nobody) != 0 {
		t.Errorf("an unknown number matched %+v", nobody)
	}
	if elder, _ := d.Elder(ctx, home); elder != "老人甲" {
		t.Errorf("elder %q", elder)
	}
}
