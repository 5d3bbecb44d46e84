package registry

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"carebed/firmware-sim/population"
)

// TestGeneratedLedgerImports: the simulator's generated ledger is one the registry
// takes without a bad row, so `firmware-sim ledger` output can seed a test site.
func TestGeneratedLedgerImports(t *testing.T) {
	var buf bytes.Buffer
	if err := population.Write(&buf, 200, 1); err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rep, err := s.Import(context.Background(), &buf, ImportOptions{})
	if err != nil {
		t.Fatalf("import: %v (first errors %v)", err, rep.Errors[:min(3, len(rep.Errors))])
	}
	sum, err := s.Summary(context.Background())
	if err != nil || sum.Homes != 200 || sum.Devices != 600 {
		t.Fatalf("summary %+v %v", sum, err)
	}
}

// The generated herder homes (流动, a GPS pendant and an elder's own phone with its
// 设备电话) import: each phone is found by its number and sends SMS only.
func TestGeneratedHerdersImport(t *testing.T) {
	var buf bytes.Buffer
	if err := population.WriteWith(&buf, population.Options{Homes: 10, Herders: 3, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rep, err := s.Import(context.Background(), &buf, ImportOptions{}); err != nil {
		t.Fatalf("import: %v (first errors %v)", err, rep.Errors[:min(3, len(rep.Errors))])
	}
	devs, err := s.Devices(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	phones := 0
	for _, d := range devs {
		if !d.SMSOnly() {
			continue
		}
		phones++
		got, err := s.DeviceByPhone(context.Background(), d.Phone)
		if err != nil || got.ID != d.ID || !got.Mobile {
			t.Errorf("DeviceByPhone(%s's phone) = %+v, %v", d.ID, got, err)
		}
	}
	if phones != 3 {
		t.Errorf("%d SMS-only phones, want 3 (one per herder home)", phones)
	}
}
