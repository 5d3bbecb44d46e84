package ledger

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"carebed/gateway/protocol"
)

// FuzzRead feeds arbitrary bytes to Read, which must not panic and must account for
// every row: each data row is either good or has exactly one error, and every good
// row holds only valid, normalised values.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"ledger_sample.csv", "ledger_en.csv", "ledger_bad.csv"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("county,township,village,home_id,elder_name,address,lat,lon,device_id,device_kind," +
		"visitor_name,visitor_phone,doctor_name,doctor_phone,family_phone\n" +
		"且末县,且末镇,A村,H-1,,,38.1,85.5,qm-1,sos_pendant,,,,,\"1;2\"\n,,\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := Read(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		checkAccounts(t, l)
		for i := range l.Rows {
			checkRow(t, l, &l.Rows[i])
		}
	})
}

// checkAccounts checks that every row is counted once and errors are in file order.
func checkAccounts(t *testing.T, l *Ledger) {
	if l.BadHeader {
		if len(l.Errors) != 1 || l.Errors[0].Line != 1 || l.Total != 0 || len(l.Rows) != 0 {
			t.Fatalf("bad header but %+v", l)
		}
		return
	}
	if len(l.Rows)+len(l.Errors) != l.Total {
		t.Fatalf("%d good + %d bad rows != %d", len(l.Rows), len(l.Errors), l.Total)
	}
	for i, e := range l.Errors {
		if e.Line < 2 || e.Reason == "" || (i > 0 && e.Line <= l.Errors[i-1].Line) {
			t.Fatalf("error %d out of order or empty: %+v", i, l.Errors)
		}
	}
}

// checkRow checks that a good row and its home hold valid, normalised values.
func checkRow(t *testing.T, l *Ledger, r *Row) {
	d := r.Device
	if !protocol.ValidDeviceID(d.ID) || kindAliases[d.Kind] != d.Kind || d.HeartbeatS < 1 || d.HeartbeatS > maxHeartbeatS {
		t.Fatalf("line %d: bad device %+v", r.Line, d)
	}
	h := l.Home(d.Home)
	if h == nil || h.County == "" || h.Township == "" || h.Village == "" || h.ID == "" {
		t.Fatalf("line %d: home %q missing or without a place: %+v", r.Line, d.Home, h)
	}
	if checkHomeID(h.ID) != "" || checkPlace(h.County) != "" || checkPlace(h.Township) != "" || checkPlace(h.Village) != "" {
		t.Fatalf("line %d: home id or place outside its character set: %+v", r.Line, h)
	}
	if h.HasLoc && !(h.Lat >= -90 && h.Lat <= 90 && h.Lon >= -180 && h.Lon <= 180) {
		t.Fatalf("line %d: location out of range", r.Line)
	}
	for _, p := range append([]string{h.VisitorPhone, h.DoctorPhone, r.Clinic}, h.Family...) {
		if n, err := normalizePhone(p); p != "" && (err != nil || n != p) {
			t.Fatalf("line %d: phone not normalised", r.Line)
		}
	}
}
