package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"carebed/alerting"
)

var t0 = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

func TestSeenMessageRemembersAcrossRestartAndPrunes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "alerts.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		sid   string
		at    time.Time
		first bool
	}{
		{"SM1", t0, true},
		{"SM1", t0.Add(time.Minute), false},
		{"SM2", t0.Add(time.Hour), true},
		{"SM1", t0.Add(alerting.ReplyRetention - time.Hour), false},  // still remembered just before retention
		{"SM3", t0.Add(alerting.ReplyRetention + time.Minute), true}, // prunes SM1 (seen at t0)
		{"SM2", t0.Add(alerting.ReplyRetention + time.Minute), false},
		{"SM1", t0.Add(alerting.ReplyRetention + 2*time.Minute), true}, // forgotten after retention
	}
	for i, st := range steps {
		if i == 3 { // a restart in the middle
			s.Close()
			if s, err = Open(path); err != nil {
				t.Fatal(err)
			}
		}
		first, err := s.SeenMessage(ctx, st.sid, st.at)
		if err != nil || first != st.first {
			t.Fatalf("step %d: SeenMessage(%s) = %v, %v; want %v", i, st.sid, first, err, st.first)
		}
	}
	if err := s.ForgetMessage(ctx, "SM2"); err != nil {
		t.Fatal(err)
	}
	if first, _ := s.SeenMessage(ctx, "SM2", t0.Add(alerting.ReplyRetention+3*time.Minute)); !first {
		t.Error("a forgotten sid is still remembered")
	}
	s.Close()
}
