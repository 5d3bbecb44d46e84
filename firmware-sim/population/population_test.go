package population

import (
	"bytes"
	"encoding/csv"
	"testing"
)

func TestWriteIsRepeatableAndWellFormed(t *testing.T) {
	var a, b bytes.Buffer
	if err := Write(&a, 50, 7); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, 50, 7); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("the same seed gave two different ledgers")
	}
	rows, err := csv.NewReader(&a).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+50*3 {
		t.Fatalf("%d rows, want header + 150", len(rows))
	}
	ids := map[string]bool{}
	for _, r := range rows[1:] {
		if len(r) != len(Header) {
			t.Fatalf("row %v has %d columns", r, len(r))
		}
		if ids[r[8]] {
			t.Fatalf("device id %s twice", r[8])
		}
		ids[r[8]] = true
	}
	var c bytes.Buffer
	Write(&c, 50, 8)
	if c.String() == b.String() {
		t.Error("another seed gave the same ledger")
	}
}
