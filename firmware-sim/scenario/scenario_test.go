package scenario

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	cases := []struct{ name, in, err string }{
		{"good", "name: demo\nevents:\n  - {at: 2s, home: H-0001, do: fall, cancel_after: 1s}\n  - {at: 1s, home: H-0002, do: sos}\n", ""},
		{"unknown key", "events:\n  - {at: 1s, home: H-1, do: sos, when: now}\n", "field when not found"},
		{"bad do", "events:\n  - {at: 1s, home: H-1, do: earthquake}\n", `events[0].do: "earthquake" is not`},
		{"no home", "events:\n  - {at: 1s, do: sos}\n", "events[0].home: missing"},
		{"power cut without duration", "events:\n  - {at: 1s, village: 巴伦台村, do: power_cut}\n", "events[0].for"},
		{"cancel a smoke", "events:\n  - {at: 1s, home: H-1, do: smoke, cancel_after: 2s}\n", "events[0].cancel_after"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse([]byte(c.in))
			if c.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if s.Events[0].Home != "H-0002" || s.Duration != 4*time.Second {
					t.Errorf("parsed %+v: want events sorted by time and duration past the last", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Fatalf("error %v, want %q", err, c.err)
			}
		})
	}
}

// recorder is an Injector that keeps what it was asked to send.
type recorder struct {
	mu   sync.Mutex
	seq  uint64
	sent []string
}

func (r *recorder) Event(device, typ string, cancels uint64) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	r.sent = append(r.sent, device+" "+typ+" cancels="+itoa(cancels))
	return r.seq, nil
}

func (r *recorder) PowerCut(devices []string, d time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, "cut "+strings.Join(devices, ",")+" for "+d.String())
	return nil
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

func TestRun(t *testing.T) {
	s, err := Parse([]byte("events:\n  - {at: 20ms, home: H-1, do: fall, cancel_after: 30ms}\n  - {at: 10ms, home: H-2, do: sos}\n  - {at: 40ms, home: H-9, do: sos}\n  - {at: 60ms, village: 巴伦台村, do: power_cut, for: 1s}\n  - {at: 70ms, home: H-2, do: sms}\n"))
	if err != nil {
		t.Fatal(err)
	}
	homes := func(home, kind string) (string, bool) {
		if home == "H-9" {
			return "", false
		}
		return home + "-" + kind, true
	}
	rec := &recorder{}
	villages := func(v string) []string { return []string{v + "-a", v + "-b"} }
	sent := Run(context.Background(), s, homes, villages, rec)
	want := "H-2-sos_pendant sos cancels=0|H-1-fall_sensor fall cancels=0|H-1-fall_sensor fall_cancel cancels=2|cut 巴伦台村-a,巴伦台村-b for 1s"
	if got := strings.Join(rec.sent, "|"); got != want {
		t.Errorf("sent %s\nwant %s", got, want)
	}
	if len(sent) != 6 || sent[2].Home != "H-9" || sent[2].Err == nil || sent[5].Type != "sms" || sent[5].Err == nil {
		t.Errorf("summary %+v: want the event of a home without devices, and the sms (no phones here), reported as failed", sent)
	}
	var b strings.Builder
	Summary(&b, sent)
	if !strings.Contains(b.String(), "4 of 6 scenario events sent") {
		t.Errorf("summary:\n%s", b.String())
	}
}

// TestShippedScenariosParse keeps the demo's scenarios valid.
func TestShippedScenariosParse(t *testing.T) {
	files, err := filepath.Glob("../../deploy/demo/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped scenarios: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(s.Events) < 4 {
			t.Errorf("%s has %d events", f, len(s.Events))
		}
	}
}
