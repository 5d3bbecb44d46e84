package provision

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/gateway/brokerauth"
	"carebed/gateway/credential"
	"carebed/gateway/registry"
)

const ledger = "county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind,visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone\n" +
	"和静县,巴伦台镇,巴伦台村,H-1,老人甲,地址甲,42.7,86.3,bed-0001,bed_sensor,探访员,13800000001,村医,13800000002,13900000003\n" +
	"和静县,巴伦台镇,巴伦台村,H-1,老人甲,地址甲,42.7,86.3,sos-0001,sos_pendant,探访员,13800000001,村医,13800000002,13900000003\n"

func openRegistry(t *testing.T) *registry.Store {
	t.Helper()
	reg, err := registry.Open(filepath.Join(t.TempDir(), "registry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	if _, err := reg.Import(context.Background(), strings.NewReader(ledger), registry.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	return reg
}

func usernames(is []Issued) string {
	var out []string
	for _, i := range is {
		out = append(out, i.Kind+":"+i.Username)
	}
	return strings.Join(out, " ")
}

func TestIssueRotateRevokeExport(t *testing.T) {
	ctx := context.Background()
	reg := openRegistry(t)
	now := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	first, err := Devices(ctx, reg, Options{Now: now})
	if err != nil || usernames(first) != "device:bed-0001 device:sos-0001" {
		t.Fatalf("first provisioning: %s %v", usernames(first), err)
	}
	if again, err := Devices(ctx, reg, Options{Now: now}); err != nil || len(again) != 0 {
		t.Fatalf("without -rotate nothing is issued again: %s %v", usernames(again), err)
	}
	rotated, err := Devices(ctx, reg, Options{IDs: []string{"sos-0001"}, Rotate: true, Now: now})
	if err != nil || usernames(rotated) != "device:sos-0001" || rotated[0].Password == first[1].Password {
		t.Fatalf("rotation: %+v %v", rotated, err)
	}
	if _, err := Devices(ctx, reg, Options{IDs: []string{"ghost-0001"}, Now: now}); err == nil {
		t.Error("a device that is not registered got a password")
	}
	resp, err := Responders(ctx, reg, Options{Now: now})
	if err != nil || len(resp) != 3 || resp[0].Phone == "" {
		t.Fatalf("responders (visitor, doctor, family): %+v %v", resp, err)
	}
	if err := Revoke(ctx, reg, []string{"bed-0001"}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := BrokerUsers(ctx, reg, "gateway", ""); err == nil {
		t.Error("export without the gateway's password")
	}
	users, err := BrokerUsers(ctx, reg, "gateway", "gw-pw")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]brokerauth.Principal{}
	for _, u := range users {
		byID[u.ID] = u
	}
	if _, ok := byID["bed-0001"]; ok {
		t.Error("the revoked device is exported")
	}
	if u := byID["sos-0001"]; u.Kind != brokerauth.Device || !credential.Verify(u.Hash, rotated[0].Password) {
		t.Errorf("sos-0001 exported as %+v, not with its rotated password", u)
	}
	if u := byID["gateway"]; u.Kind != brokerauth.Gateway || !credential.Verify(u.Hash, "gw-pw") {
		t.Errorf("gateway user %+v", u)
	}
	if u := byID["gateway-alarms"]; u.Kind != brokerauth.GatewayAlarms || !credential.Verify(u.Hash, "gw-pw") {
		t.Errorf("the gateway's alarm session user %+v", u)
	}
	if len(users) != 2+1+3 {
		t.Errorf("%d users exported, want the gateway's two, sos-0001 and 3 responders", len(users))
	}
}
