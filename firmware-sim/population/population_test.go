package population

import (
	"bytes"
	"encoding/csv"
	"slices"
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

// TestWriteWithHerders: herder homes follow the others, each with 流动 是, a
// pendant and an SMS-only phone with its own number; the other homes are as Write
// makes them.
func TestWriteWithHerders(t *testing.T) {
	var plain, with bytes.Buffer
	if err := Write(&plain, 5, 3); err != nil {
		t.Fatal(err)
	}
	if err := WriteWith(&with, Options{Homes: 5, Herders: 2, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	p, _ := csv.NewReader(&plain).ReadAll()
	rows, err := csv.NewReader(&with).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+5*3+2*2 || !slices.Equal(rows[0], HerderHeader) {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	for i, r := range rows[1:16] {
		if !slices.Equal(r[:len(Header)], p[i+1]) || r[len(Header)] != "" || r[len(Header)+1] != "" {
			t.Fatalf("home row %d: %v, want %v and two empty cells", i, r, p[i+1])
		}
	}
	col := func(name string) int { return slices.Index(HerderHeader, name) }
	want := []struct{ home, id, kind, phone string }{
		{"H-00006", "h00006-sos", HerderPendant, ""}, {"H-00006", "h00006-phone", SMSPhone, "13840000006"},
		{"H-00007", "h00007-sos", HerderPendant, ""}, {"H-00007", "h00007-phone", SMSPhone, "13840000007"},
	}
	for i, w := range want {
		r := rows[16+i]
		if r[col("户编号")] != w.home || r[col("设备编号")] != w.id || r[col("设备类型")] != w.kind ||
			r[col("设备电话")] != w.phone || r[col("流动")] != "是" || r[col("乡镇")] != "巴音布鲁克镇" {
			t.Errorf("herder row %d: %v, want %+v", i, r, w)
		}
	}
}
