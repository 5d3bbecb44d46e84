package registry

import (
	"carebed/gateway/registry/internal/ledger"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestImportSample(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		tests := []struct {
			name, file, list string
			want             ImportReport
			summary          Summary
		}{
			{name: "chinese header with BOM", file: "ledger_sample.csv", list: "ledger_sample.list",
				want:    ImportReport{Rows: 12, Imported: 12},
				summary: Summary{Counties: 3, Townships: 5, Villages: 5, Homes: 5, Devices: 12}},
			{name: "english header", file: "ledger_en.csv", list: "ledger_en.list",
				want:    ImportReport{Rows: 4, Imported: 4},
				summary: Summary{Counties: 2, Townships: 2, Villages: 2, Homes: 2, Devices: 4}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := openTest(t)
				if rep := mustImport(t, s, tt.file); !reportEqual(rep, tt.want) {
					t.Errorf("report %+v, want %+v", rep, tt.want)
				}
				n, err := s.Summary(context.Background())
				if err != nil || n != tt.summary {
					t.Errorf("Summary() = %+v, %v; want %+v", n, err, tt.summary)
				}
				golden(t, tt.list, list(t, s))
			})
		}
	})
}

// reportEqual compares two reports, errors included.
func reportEqual(a, b ImportReport) bool {
	if a.Rows != b.Rows || a.Imported != b.Imported || a.Updated != b.Updated ||
		a.Unchanged != b.Unchanged || len(a.Errors) != len(b.Errors) {
		return false
	}
	for i := range a.Errors {
		if a.Errors[i] != b.Errors[i] {
			return false
		}
	}
	return true
}

func TestImportDevice(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		mustImport(t, s, "ledger_sample.csv")
		tests := []struct {
			name string
			id   string
			want Device
		}{
			{name: "bed sensor with heartbeat", id: "hj-0001-bed", want: Device{ID: "hj-0001-bed", Kind: ledger.KindBedSensor,
				HeartbeatS: 60, Place: Place{"和静县", "哈尔莫敦镇", "哈尔莫敦村", "H-0001"}, Lat: 42.2861, Lon: 86.3105}},
			{name: "default heartbeat", id: "hj-0002-sos", want: Device{ID: "hj-0002-sos", Kind: ledger.KindSOSPendant,
				HeartbeatS: ledger.DefaultHeartbeatS, Place: Place{"和静县", "巴伦台镇", "巴伦台村", "H-0002"}, Lat: 42.7489, Lon: 86.2981}},
			{name: "alias kind", id: "yq-0013-water", want: Device{ID: "yq-0013-water", Kind: ledger.KindWaterSensor,
				HeartbeatS: ledger.DefaultHeartbeatS, Place: Place{"焉耆回族自治县", "永宁镇", "下岔河村", "H-0013"}, Lat: 42.0712, Lon: 86.5223}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Device(context.Background(), tt.id)
				if err != nil || got != tt.want {
					t.Errorf("Device(%q) = %+v, %v; want %+v", tt.id, got, err, tt.want)
				}
			})
		}
		if _, err := s.Device(context.Background(), "no-such-device"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Device(unknown) error = %v, want ErrNotFound", err)
		}
	})
}

func TestImportIdempotent(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		for _, file := range []string{"ledger_sample.csv", "ledger_en.csv"} {
			t.Run(file, func(t *testing.T) {
				s := openTest(t)
				first := mustImport(t, s, file)
				before := list(t, s)
				second := mustImport(t, s, file)
				want := ImportReport{Rows: first.Rows, Unchanged: first.Rows}
				if !reportEqual(second, want) {
					t.Errorf("second import %+v, want %+v", second, want)
				}
				if after := list(t, s); after != before {
					t.Errorf("list changed:\n%s\nwant:\n%s", after, before)
				}
			})
		}
	})
}

// ledgerRowText is one row of testHeader's columns for home H-1, visitor and doctor
// given, with the kind, heartbeat-free.
func ledgerRowText(device, kind, village, visitorPhone string) string {
	return "若羌县,若羌镇," + village + ",H-1,Test Elder,Addr,39.02,88.17," + device + "," + kind +
		",Test Visitor," + visitorPhone + ",Test Doctor,13800000002,13800000003\n"
}

func TestImportUpdate(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		base := testHeader + ledgerRowText("rq-1-sos", "sos_pendant", "东城村", "13800000001") +
			ledgerRowText("rq-1-bed", "bed_sensor", "东城村", "13800000001")
		tests := []struct {
			name, csv string
			want      ImportReport
			check     func(t *testing.T, s *Store)
		}{
			{name: "same file", csv: base, want: ImportReport{Rows: 2, Unchanged: 2}},
			{name: "kind changed", csv: testHeader + ledgerRowText("rq-1-sos", "fall_sensor", "东城村", "13800000001") +
				ledgerRowText("rq-1-bed", "bed_sensor", "东城村", "13800000001"),
				want: ImportReport{Rows: 2, Updated: 1, Unchanged: 1},
				check: func(t *testing.T, s *Store) {
					if d, _ := s.Device(context.Background(), "rq-1-sos"); d.Kind != ledger.KindFallSensor {
						t.Errorf("kind %q, want fall_sensor", d.Kind)
					}
				}},
			{name: "home moved village", csv: testHeader + ledgerRowText("rq-1-sos", "sos_pendant", "西城村", "13800000001"),
				want: ImportReport{Rows: 1, Updated: 1},
				check: func(t *testing.T, s *Store) {
					for _, id := range []string{"rq-1-sos", "rq-1-bed"} {
						if d, _ := s.Device(context.Background(), id); d.Place.Village != "西城村" {
							t.Errorf("%s village %q, want 西城村", id, d.Place.Village)
						}
					}
				}},
			{name: "visitor phone changed", csv: testHeader + ledgerRowText("rq-1-sos", "sos_pendant", "东城村", "13900000001"),
				want: ImportReport{Rows: 1, Updated: 1},
				check: func(t *testing.T, s *Store) {
					people, _ := s.HomeContacts(context.Background(), "H-1")
					if len(people) == 0 || people[0].Phone != "+8613900000001" {
						t.Errorf("contacts %+v, want the visitor on +8613900000001", people)
					}
				}},
			{name: "new device, others left alone", csv: testHeader + ledgerRowText("rq-1-gas", "燃气报警器", "东城村", "13800000001"),
				want: ImportReport{Rows: 1, Imported: 1},
				check: func(t *testing.T, s *Store) {
					if n, _ := s.Summary(context.Background()); n.Devices != 3 {
						t.Errorf("%d devices, want 3", n.Devices)
					}
				}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := openTest(t)
				if _, err := importString(t, s, base, ImportOptions{}); err != nil {
					t.Fatal(err)
				}
				rep, err := importString(t, s, tt.csv, ImportOptions{})
				if err != nil || !reportEqual(rep, tt.want) {
					t.Fatalf("import = %+v, %v; want %+v", rep, err, tt.want)
				}
				if tt.check != nil {
					tt.check(t, s)
				}
			})
		}
	})
}

func TestImportBadRows(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		want := strings.Split(strings.TrimSuffix(string(readTestdata(t, "ledger_bad.errors")), "\n"), "\n")
		tests := []struct {
			name    string
			opts    ImportOptions
			wantErr bool
			devices int
			counts  ImportReport
		}{
			{name: "nothing imported", opts: ImportOptions{}, wantErr: true, devices: 0,
				counts: ImportReport{Rows: 16}},
			{name: "skip bad", opts: ImportOptions{SkipBad: true}, devices: 2,
				counts: ImportReport{Rows: 16, Imported: 2}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := openTest(t)
				rep, err := importString(t, s, string(readTestdata(t, "ledger_bad.csv")), tt.opts)
				if errors.Is(err, ErrBadRows) != tt.wantErr || (err != nil && !tt.wantErr) {
					t.Fatalf("error %v, want ErrBadRows %v", err, tt.wantErr)
				}
				assertRowErrors(t, rep.Errors, want)
				rep.Errors = nil
				if !reportEqual(rep, tt.counts) {
					t.Errorf("counts %+v, want %+v", rep, tt.counts)
				}
				if n, _ := s.Summary(context.Background()); n.Devices != tt.devices {
					t.Errorf("%d devices registered, want %d", n.Devices, tt.devices)
				}
			})
		}
	})
}

// assertRowErrors compares errors with the expected Error() texts line by line.
func assertRowErrors(t *testing.T, errs []RowError, want []string) {
	t.Helper()
	for i := range max(len(errs), len(want)) {
		var g, w string
		if i < len(errs) {
			g = errs[i].Error()
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			t.Errorf("error %d:\n got %q\nwant %q", i, g, w)
		}
	}
}

func TestImportBadRowsLeakNoPersonalData(t *testing.T) {
	eachBackend(t, func(t *testing.T, openTest opener) {
		s := openTest(t)
		rep, err := importString(t, s, string(readTestdata(t, "ledger_bad.csv")), ImportOptions{})
		text := err.Error()
		for _, e := range rep.Errors {
			text += "\n" + e.Error()
		}
		for _, secret := range []string{"Test Elder", "Test Visitor", "Test Doctor", "Group 3", "0996", "12345,", "138000003"} {
			if strings.Contains(text, secret) {
				t.Errorf("errors quote personal data %q:\n%s", secret, text)
			}
		}
	})
}
