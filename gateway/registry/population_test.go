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
