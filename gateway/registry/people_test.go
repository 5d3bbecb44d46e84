package registry

import (
	"context"
	"errors"
	"os"
	"testing"
)

func TestContactsAndElder(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		f, err := os.Open("testdata/ledger_sample.csv")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ctx := context.Background()
		if _, err := s.Import(ctx, f, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		cs, err := s.Contacts(ctx, "H-0001")
		if err != nil || len(cs) < 3 {
			t.Fatalf("contacts of H-0001: %+v %v", cs, err)
		}
		c, err := s.Contact(ctx, "H-0001", cs[1].Pos)
		if err != nil || c != cs[1] {
			t.Fatalf("Contact(%d) = %+v %v, want %+v", cs[1].Pos, c, err, cs[1])
		}
		if _, err := s.Contact(ctx, "H-0001", 99); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing contact: %v", err)
		}
		byPhone, err := s.ContactsByPhone(ctx, cs[0].Phone)
		if err != nil || len(byPhone) == 0 || byPhone[0].Home != "H-0001" {
			t.Fatalf("by phone %s: %+v %v", cs[0].Phone, byPhone, err)
		}
		ts, err := s.TownshipsByClinicPhone(ctx, "+8613800000009")
		if err != nil || len(ts) != 1 || ts[0].Name != "哈尔莫敦镇" {
			t.Fatalf("townships by clinic phone: %+v %v", ts, err)
		}
		if elder, err := s.Elder(ctx, "H-0001"); err != nil || elder != "测试老人甲" {
			t.Fatalf("elder: %q %v", elder, err)
		}
	})
}
