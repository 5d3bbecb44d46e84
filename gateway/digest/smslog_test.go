package digest

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/alerting/policy"
)

// TestSMSLogged: each digest SMS is logged, sent or failed, with its home and
// segments; ReadSMS reads them from the data folder for the monthly report, and a
// digest sent before the log was kept is Old (no segments, failures unknown).
func TestSMSLogged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sms := &smsLog{}
	clk := &clock{t: bj(20, 12, 0)}
	s := newService(t, filepath.Join(dir, FileName), sms, clk, nil)
	if _, _, err := s.HandleSMS(ctx, famA, "订阅"); err != nil {
		t.Fatal(err)
	}
	old := bj(22, 19, 0)
	if _, err := s.st.claim(ctx, "2026-11-22", famA, "H-0001", old); err != nil {
		t.Fatal(err)
	}
	sms.fail = errors.New("twilio: 503")
	if rep, err := s.Send(ctx, bj(29, 19, 0)); err != nil || rep.Failed != 2 {
		t.Fatalf("failing sends: %+v %v", rep, err)
	}
	sms.fail = nil
	if rep, err := s.Send(ctx, bj(29, 19, 5)); err != nil || rep.Sent != 2 {
		t.Fatalf("sends: %+v %v", rep, err)
	}
	segs := map[string]int{} // by message, as sent
	for _, m := range sms.sent() {
		segs[m] = policy.Segments(strings.SplitN(m, ": ", 2)[1])
	}
	got, err := ReadSMS(ctx, dir, bj(1, 0, 0), time.Date(2026, 12, 1, 0, 0, 0, 0, beijing))
	if err != nil {
		t.Fatal(err)
	}
	var failed, sent, oldOnes, sentSegs int
	for _, m := range got {
		switch {
		case m.Old:
			oldOnes++
			if m.Home != "H-0001" || !m.At.Equal(old) || m.Failed || m.Segments != 0 {
				t.Errorf("old digest %+v", m)
			}
		case m.Failed:
			failed++
			if !m.At.Equal(bj(29, 19, 0)) || m.Segments < 1 {
				t.Errorf("failed digest %+v", m)
			}
		default:
			sent++
			sentSegs += m.Segments
			if !m.At.Equal(bj(29, 19, 5)) {
				t.Errorf("sent digest %+v", m)
			}
		}
	}
	wantSegs := 0
	for _, n := range segs {
		wantSegs += n
	}
	if failed != 2 || sent != 2 || oldOnes != 1 || sentSegs != wantSegs || wantSegs < 2 {
		t.Errorf("failed %d, sent %d, old %d, segments %d; want 2, 2, 1, %d", failed, sent, oldOnes, sentSegs, wantSegs)
	}
	if none, err := ReadSMS(ctx, t.TempDir(), bj(1, 0, 0), bj(30, 0, 0)); err != nil || len(none) != 0 {
		t.Errorf("no digest.db: %v, %v", none, err)
	}
}
