package report

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"carebed/alerting/policy"
	"carebed/gateway/registry"
)

// TestHomesFrom reads homes from a real registry: one Home per home, whatever its
// number of devices and contacts, with its devices and care groups.
func TestHomesFrom(t *testing.T) {
	reg, err := registry.Open(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ledger := "县,乡镇,村,户编号,老人姓名,地址,纬度,经度,设备编号,设备类型,探访员,探访员电话,村医,村医电话,家属电话,卫生院电话,心跳间隔,照护类别\n" +
		"和静县,巴伦台镇,巴伦台村,H-1,,,,,bed-1,bed_sensor,访员,13800001001,村医,13900002001,,13600000001,,失能、高龄\n" +
		"和静县,巴伦台镇,巴伦台村,H-1,,,,,sos-1,紧急呼叫器,访员,13800001001,村医,13900002001,,13600000001,,失能、高龄\n" +
		"和静县,乃门莫敦镇,乃门村,H-2,,,,,sos-2,紧急呼叫器,访员,13800001002,村医,13900002002,,13600000002,,\n"
	if _, err := reg.Import(context.Background(), strings.NewReader(ledger), registry.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	homes, err := HomesFrom(context.Background(), reg)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range homes {
		got = append(got, fmt.Sprint(h.Place.Township, h.Place.Home, h.Devices, h.Groups))
	}
	want := []string{
		fmt.Sprint("巴伦台镇", "H-1", []string{"bed-1", "sos-1"}, []policy.CareGroup{policy.GroupAged, policy.GroupDisabled}),
		fmt.Sprint("乃门莫敦镇", "H-2", []string{"sos-2"}, []policy.CareGroup(nil)),
	}
	if !slices.Equal(got, want) {
		t.Errorf("homes\n%q\nwant\n%q", got, want)
	}
}
