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
// segments; ReadSMS reads them from the data folder (or PostgreSQL) for the monthly
// report, and a digest sent before the log was kept is Old (no segments, failures
// unknown).
func TestSMSLogged(t *testing.T) { eachBackend(t, checkSMSLogged) }

func checkSMSLogged(t *testing.T, b backend) {
	ctx := context.Background()
	dir := filepath.Dir(b.path)
	sms := &smsLog{}
	clk := &clock{t: bj(20, 12, 0)}
	s := newService(t, b, sms, clk, nil)
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
	got, err := ReadSMS(ctx, dir, b.url, bj(1, 0, 0), time.Date(2026, 12, 1, 0, 0, 0, 0, beijing))
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
	if none, err := ReadSMS(ctx, t.TempDir(), "", bj(1, 0, 0), bj(30, 0, 0)); err != nil || len(none) != 0 {
		t.Errorf("no digest.db: %v, %v", none, err)
	}
}

// A site moving to PostgreSQL (database.url) keeps its families' opt-ins and what
// was sent: the digest.db of the data folder is copied in once, at the first start.
func TestPostgresAdoptsSQLiteDigest(t *testing.T) {
	ctx := context.Background()
	b := backend{path: filepath.Join(t.TempDir(), FileName)}
	clk := &clock{t: bj(20, 12, 0)}
	s := newService(t, b, &smsLog{}, clk, nil)
	for _, w := range []struct{ from, body string }{{famA, "订阅"}, {famB, "订阅"}, {famB, "退订"}} {
		if _, _, err := s.HandleSMS(ctx, w.from, w.body); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := s.Send(ctx, bj(29, 19, 0)); err != nil || rep.Sent != 2 {
		t.Fatalf("sends: %+v %v", rep, err)
	}
	s.Close()
	b.url = sharedPostgres(t).NewDatabase(t)
	sms := &smsLog{}
	pg := newService(t, b, sms, clk, nil)
	for phone, want := range map[string]bool{famA: true, famB: false} {
		if on, err := pg.st.subscribed(ctx, phone); err != nil || on != want {
			t.Errorf("%s subscribed on PostgreSQL: %v %v, want %v", phone, on, err, want)
		}
	}
	if rep, err := pg.Send(ctx, bj(29, 19, 30)); err != nil || rep.Sent != 0 || len(sms.sent()) != 0 {
		t.Errorf("the week sent again after the move: %+v %v", rep, err)
	}
	got, err := ReadSMS(ctx, t.TempDir(), b.url, bj(1, 0, 0), time.Date(2026, 12, 1, 0, 0, 0, 0, beijing))
	if err != nil || len(got) != 2 {
		t.Errorf("digest SMS read from PostgreSQL: %d %v, want the 2 sent", len(got), err)
	}
}
