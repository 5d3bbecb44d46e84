package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/gateway/deadletter"
	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

type fakeDirectory map[string]points.Tags

func (d fakeDirectory) Lookup(id string) (points.Tags, bool) { t, ok := d[id]; return t, ok }

// fakeSpool fails the first fail calls, then keeps what it is given.
type fakeSpool struct {
	mu       sync.Mutex
	fail     int
	calls    int
	recs     [][]byte
	writeErr error // what done reports
}

func (s *fakeSpool) AppendAsync(recs [][]byte, done func(error)) error {
	s.mu.Lock()
	s.calls++
	if s.calls <= s.fail {
		s.mu.Unlock()
		return errors.New("spool: full")
	}
	for _, r := range recs {
		s.recs = append(s.recs, append([]byte(nil), r...)) // copied, as the spool does
	}
	s.mu.Unlock()
	go done(s.writeErr)
	return nil
}

type fakeDead struct{ entries []deadletter.Entry }

func (d *fakeDead) Write(e deadletter.Entry) error { d.entries = append(d.entries, e); return nil }

var now = time.UnixMilli(1_764_400_000_000)

func newTestHandler(sp *fakeSpool) (*Handler, *fakeDead, *Metrics) {
	dead := &fakeDead{}
	m := NewMetrics(prometheus.NewRegistry())
	h := NewHandler(Options{
		Directory:   fakeDirectory{"bed-0001": {Device: "bed-0001", Home: "H-1", Kind: "bed_sensor"}},
		Spool:       sp,
		DeadLetters: dead,
		Metrics:     m,
		LateAfter:   time.Minute,
		Now:         func() time.Time { return now },
		RetryMin:    time.Millisecond,
		RetryMax:    time.Millisecond,
	})
	return h, dead, m
}

func msg(topic, payload string) Message {
	return Message{Topic: topic, Payload: []byte(payload), Received: now}
}

func TestHandle(t *testing.T) {
	cases := []struct {
		name       string
		msgs       []Message
		wantRecs   int
		wantSeqs   string // device and seqs of every record, in order
		wantReject map[string]float64
		wantDups   float64
	}{
		{"reading", []Message{msg("carebed/v1/bed-0001/telemetry", `{"v":1,"seq":5,"hr":60}`)}, 1, "bed-0001 5|", nil, 0},
		{"duplicate in one batch", []Message{
			msg("carebed/v1/bed-0001/event", `{"v":1,"seq":5,"type":"sos"}`),
			msg("carebed/v1/bed-0001/event", `{"v":1,"seq":5,"type":"sos"}`),
		}, 1, "bed-0001 5|", nil, 1},
		{"batch keeps only new readings", []Message{
			msg("carebed/v1/bed-0001/telemetry", `{"v":1,"seq":2,"hr":60}`),
			msg("carebed/v1/bed-0001/telemetry", `{"v":1,"batch":[{"seq":1,"hr":61},{"seq":2,"hr":60},{"seq":3,"hr":62}]}`),
		}, 2, "bed-0001 2|bed-0001 1 3|", nil, 0},
		{"last will has no seq and is never a duplicate", []Message{
			msg("carebed/v1/bed-0001/status", `{"v":1,"online":false}`),
			msg("carebed/v1/bed-0001/status", `{"v":1,"online":false}`),
		}, 2, "bed-0001|bed-0001|", nil, 0},
		{"rejects counted by reason", []Message{
			msg("carebed/v1/ghost-01/telemetry", `{"v":1,"seq":1,"hr":60}`),
			msg("carebed/v1/bed-0001/telemetry", `{"v":1,"seq":1,"hr":999}`),
			msg("carebed/v1/bed-0001/telemetry", `not json`),
			msg("carebed/v1/Bad/telemetry", `{}`),
			msg("carebed/v1/bed-0001/telemetry", `{"v":1,"seq":9,"hr":70}`),
		}, 1, "bed-0001 9|", map[string]float64{"unknown_device": 1, "out_of_range": 1, "bad_json": 1, "bad_topic": 1}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp := &fakeSpool{}
			h, dead, m := newTestHandler(sp)
			if err := h.Handle(context.Background(), c.msgs); err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for _, r := range sp.recs {
				rec, err := points.ParseRecord(r)
				if err != nil {
					t.Fatal(err)
				}
				got.WriteString(rec.Device)
				for _, seq := range rec.Seqs {
					fmt.Fprintf(&got, " %d", seq)
				}
				got.WriteString("|")
			}
			if len(sp.recs) != c.wantRecs || got.String() != c.wantSeqs {
				t.Errorf("records %q (%d), want %q (%d)", got.String(), len(sp.recs), c.wantSeqs, c.wantRecs)
			}
			total := 0.0
			for reason, n := range c.wantReject {
				if v := testutil.ToFloat64(m.rejects.WithLabelValues(reason)); v != n {
					t.Errorf("rejects{%s} = %v, want %v", reason, v, n)
				}
				total += n
			}
			if float64(len(dead.entries)) != total {
				t.Errorf("dead-lettered %d, want %v", len(dead.entries), total)
			}
			dups := 0.0
			for _, k := range []string{"telemetry", "event", "status"} {
				dups += testutil.ToFloat64(m.messages.WithLabelValues(k, "duplicate"))
			}
			if dups != c.wantDups {
				t.Errorf("duplicates = %v, want %v", dups, c.wantDups)
			}
		})
	}
}

func TestHandleWaitsForTheSpool(t *testing.T) {
	sp := &fakeSpool{fail: 3}
	h, _, m := newTestHandler(sp)
	if err := h.Handle(context.Background(), []Message{msg("carebed/v1/bed-0001/event", `{"v":1,"seq":1,"type":"fall"}`)}); err != nil {
		t.Fatal(err)
	}
	if len(sp.recs) != 1 || testutil.ToFloat64(m.appendErrors) != 3 {
		t.Errorf("records %d, append errors %v; want 1 and 3", len(sp.recs), testutil.ToFloat64(m.appendErrors))
	}
}

func TestHandleGivesUpOnCancelAndForgetsSeqs(t *testing.T) {
	sp := &fakeSpool{fail: 1 << 30}
	h, _, _ := newTestHandler(sp)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	m := msg("carebed/v1/bed-0001/event", `{"v":1,"seq":1,"type":"sos"}`)
	if err := h.Handle(ctx, []Message{m}); err == nil {
		t.Fatal("Handle returned nil although nothing was handed off")
	}
	sp.fail = 0
	if err := h.Handle(context.Background(), []Message{m}); err != nil {
		t.Fatal(err)
	}
	if len(sp.recs) != 1 {
		t.Fatalf("the redelivered message was dropped as a duplicate: %d records", len(sp.recs))
	}
}

func TestRebuildRecognisesRedelivery(t *testing.T) {
	sp := &fakeSpool{}
	h, _, _ := newTestHandler(sp)
	rec := points.AppendRecordHeader(nil, "bed-0001", 41, 42)
	if err := h.Rebuild(append(rec, "telemetry x=1 1\n"...)); err != nil {
		t.Fatal(err)
	}
	h.Handle(context.Background(), []Message{msg("carebed/v1/bed-0001/telemetry", `{"v":1,"seq":42,"hr":60}`)})
	if len(sp.recs) != 0 {
		t.Errorf("seq 42 from the spool taken again")
	}
	if h.DevicesSeen() != 1 {
		t.Errorf("DevicesSeen = %d", h.DevicesSeen())
	}
}

func TestHandleReportsWriteErrorAndForgets(t *testing.T) {
	sp := &fakeSpool{writeErr: errors.New("disk: input/output error")}
	h, _, m := newTestHandler(sp)
	msgs := []Message{msg("carebed/v1/bed-0001/event", `{"v":1,"seq":3,"type":"sos"}`)}
	if err := h.Handle(context.Background(), msgs); err == nil {
		t.Fatal("Handle returned nil although the spool failed to write")
	}
	if n := testutil.ToFloat64(m.messages.WithLabelValues("event", "stored")); n != 0 {
		t.Errorf("stored = %v before anything was durable", n)
	}
	sp.writeErr = nil
	if err := h.Handle(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if len(sp.recs) != 2 {
		t.Errorf("the redelivery after a failed write was not taken: %d records", len(sp.recs))
	}
}

// TestHugeSeqDoesNotDisableDuplicateFilter is issue 21, item 8: after seq 2^64-1,
// seq 101 sent three times was stored three times. The rule must hold after a
// restart too, when the filter is rebuilt from the spool.
func TestHugeSeqDoesNotDisableDuplicateFilter(t *testing.T) {
	sp := &fakeSpool{}
	h, dead, m := newTestHandler(sp)
	send := func(h *Handler, payloads ...string) {
		t.Helper()
		for _, p := range payloads {
			topic := "carebed/v1/bed-0001/event"
			if strings.Contains(p, `"hr"`) {
				topic = "carebed/v1/bed-0001/telemetry"
			}
			if err := h.Handle(context.Background(), []Message{msg(topic, p)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	send(h, `{"v":1,"seq":100,"hr":60}`,
		`{"v":1,"seq":18446744073709551615,"type":"sos"}`, // taken: an SOS is never dropped
		`{"v":1,"seq":101,"type":"sos"}`, `{"v":1,"seq":101,"type":"sos"}`, `{"v":1,"seq":101,"type":"sos"}`)
	if got := seqsOf(t, sp.recs); got != "100|18446744073709551615|101|" {
		t.Errorf("stored %q, want 100, 2^64-1 and 101 once", got)
	}
	if n := testutil.ToFloat64(m.seqResets); n != 2 {
		t.Errorf("seq resets = %v, want 2 (to 2^64-1 and back to 101)", n)
	}
	if len(dead.entries) != 0 {
		t.Errorf("dead-lettered %d messages, want none", len(dead.entries))
	}

	// A restart: a new handler rebuilt from what the spool holds.
	h2, _, _ := newTestHandler(sp)
	for _, r := range sp.recs {
		if err := h2.Rebuild(r); err != nil {
			t.Fatal(err)
		}
	}
	before := len(sp.recs)
	send(h2, `{"v":1,"seq":101,"type":"sos"}`, `{"v":1,"seq":102,"hr":61}`, `{"v":1,"seq":102,"hr":61}`,
		`{"v":1,"seq":9223372036854775808,"hr":61}`, `{"v":1,"seq":103,"hr":61}`, `{"v":1,"seq":103,"hr":61}`)
	if got := seqsOf(t, sp.recs[before:]); got != "102|9223372036854775808|103|" {
		t.Errorf("after the restart stored %q, want 102, 2^63 and 103 once each", got)
	}
}

// seqsOf lists the seqs of spool records, a | after each record.
func seqsOf(t *testing.T, recs [][]byte) string {
	t.Helper()
	var b strings.Builder
	for _, r := range recs {
		rec, err := points.ParseRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range rec.Seqs {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprint(&b, s)
		}
		b.WriteByte('|')
	}
	return b.String()
}

// recordingObserver keeps what the alert rules were shown.
type recordingObserver struct{ msgs []protocol.Message }

func (o *recordingObserver) Observe(_ context.Context, m protocol.Message, _ points.Tags, _ points.Stamp) error {
	o.msgs = append(o.msgs, m)
	return nil
}

// TestTimestampPastInfluxRange is issue 21, item 9 through the handler: an SOS whose ts
// InfluxDB cannot hold is stored at its arrival, flagged and counted, and the alert
// rules see it as a message without a clock (so it pages now).
func TestTimestampPastInfluxRange(t *testing.T) {
	sp := &fakeSpool{}
	h, dead, m := newTestHandler(sp)
	obs := &recordingObserver{}
	h.o.Observer = obs
	msgs := []Message{
		msg("carebed/v1/bed-0001/event", `{"v":1,"seq":5,"ts":9223372036854775807,"type":"sos"}`),
		msg("carebed/v1/bed-0001/telemetry", `{"v":1,"batch":[{"seq":6,"ts":10413792000000,"hr":60},{"seq":7,"ts":1764399999000,"hr":61}]}`),
	}
	if err := h.Handle(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if len(sp.recs) != 2 || len(dead.entries) != 0 {
		t.Fatalf("%d records, %d dead letters; want 2 and 0", len(sp.recs), len(dead.entries))
	}
	arrival := strconv.FormatInt(now.UnixMilli(), 10) // the point's ns begin with the arrival's ms
	for _, want := range []string{"type=sos seq=5i,late=f,ts_invalid=t " + arrival, "seq=6i,late=f,ts_invalid=t " + arrival, "seq=7i,late=f 1764399999000000007"} {
		if !strings.Contains(string(sp.recs[0])+string(sp.recs[1]), want) {
			t.Errorf("records lack %q:\n%s%s", want, sp.recs[0], sp.recs[1])
		}
	}
	if got := testutil.ToFloat64(m.invalidTS.WithLabelValues("event")) + testutil.ToFloat64(m.invalidTS.WithLabelValues("telemetry")); got != 2 {
		t.Errorf("invalid ts counted %v, want 2", got)
	}
	if len(obs.msgs) != 2 || obs.msgs[0].Event.TS != 0 || obs.msgs[1].Telemetry.Readings[0].TS != 0 || obs.msgs[1].Telemetry.Readings[1].TS != 1764399999000 {
		t.Errorf("the alert rules saw %+v; want the invalid ts as 0 (no clock), the good one kept", obs.msgs)
	}
}

// An alarm event with fields protocol v1 does not know is taken (and so raises its
// alert), its fields counted under bounded labels and the message kept in the
// dead-letter log as a warning; any other event with one is still rejected.
func TestAlarmWithUnknownFieldIsTakenAndWarned(t *testing.T) {
	sp := &fakeSpool{}
	h, dead, m := newTestHandler(sp)
	long := strings.Repeat("x", 25)
	msgs := []Message{
		msg("carebed/v1/bed-0001/event", `{"v":1,"seq":1,"type":"sos","floor":2,"`+long+`":1,"A-b":1}`),
		msg("carebed/v1/bed-0001/event", `{"v":1,"seq":2,"type":"bed_exit","floor":2}`),
	}
	if err := h.Handle(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if len(sp.recs) != 1 {
		t.Fatalf("%d records stored, want the sos only", len(sp.recs))
	}
	for label, want := range map[string]float64{"floor": 1, "other": 2} {
		if n := testutil.ToFloat64(m.unknown.WithLabelValues(label)); n != want {
			t.Errorf("unknown_fields{field=%s} = %v, want %v", label, n, want)
		}
	}
	if n := testutil.ToFloat64(m.rejects.WithLabelValues("unknown_field")); n != 1 {
		t.Errorf("rejects{unknown_field} = %v, want 1 (the bed_exit)", n)
	}
	if len(dead.entries) != 2 {
		t.Fatalf("dead-letter entries %+v, want a warning and a reject", dead.entries)
	}
	w, r := dead.entries[0], dead.entries[1]
	if w.Level != deadletter.LevelWarning || w.Reason != "unknown_field" || !strings.Contains(w.Error, "floor") || !strings.Contains(w.Payload, `"sos"`) {
		t.Errorf("warning entry %+v", w)
	}
	if r.Level != "" || !strings.Contains(r.Payload, "bed_exit") {
		t.Errorf("reject entry %+v", r)
	}
}

func TestFieldLabelsBounded(t *testing.T) {
	var l fieldLabels
	for i := range maxFieldLabels {
		if got := l.label(fmt.Sprintf("f%d", i)); got != fmt.Sprintf("f%d", i) {
			t.Fatalf("label %d = %q", i, got)
		}
	}
	for name, want := range map[string]string{
		"f0": "f0", "late_comer": "other", `"a b"`: "other", "other": "other", "": "other",
		strings.Repeat("a", maxFieldLabelLen+1): "other", "Lat": "other",
	} {
		if got := l.label(name); got != want {
			t.Errorf("label(%q) = %q, want %q", name, got, want)
		}
	}
}

type fakePositions struct{ got []protocol.Message }

func (p *fakePositions) Message(_ string, m protocol.Message, _ time.Time) { p.got = append(p.got, m) }

// A position goes into the record as its own line and to the tracker; a bad one is
// dropped and counted, and never rejects the SOS it came with.
func TestFixesStoredTrackedOrDropped(t *testing.T) {
	sp := &fakeSpool{}
	h, dead, m := newTestHandler(sp)
	pos := &fakePositions{}
	h.o.Positions = pos
	msgs := []Message{
		msg("carebed/v1/bed-0001/event", `{"v":1,"seq":1,"ts":1764400000000,"type":"sos","lat":42.87,"lon":83.71,"acc_m":15}`),
		msg("carebed/v1/bed-0001/event", `{"v":1,"seq":2,"ts":1764400000000,"type":"sos","lat":42.87,"lon":83.71}`),
	}
	if err := h.Handle(context.Background(), msgs); err != nil {
		t.Fatal(err)
	}
	if len(sp.recs) != 2 || len(dead.entries) != 0 {
		t.Fatalf("%d records, %d dead letters; want both SOS stored", len(sp.recs), len(dead.entries))
	}
	if !strings.Contains(string(sp.recs[0]), "\nposition,") || !strings.Contains(string(sp.recs[0]), "lat=42.87,lon=83.71,acc_m=15.0") {
		t.Errorf("record without its position line: %q", sp.recs[0])
	}
	if strings.Contains(string(sp.recs[1]), "position,") {
		t.Errorf("dropped fix stored: %q", sp.recs[1])
	}
	if n := testutil.ToFloat64(m.fixDropped.WithLabelValues("fix_accuracy")); n != 1 {
		t.Errorf("fix_dropped{fix_accuracy} = %v, want 1", n)
	}
	if len(pos.got) != 2 || pos.got[0].Event.Fix == nil || pos.got[1].Event.Fix != nil {
		t.Errorf("tracker got %+v", pos.got)
	}
}

func TestRedactLocation(t *testing.T) {
	for in, want := range map[string]string{
		`{"v":1,"seq":1,"type":"tamper","x":1,"lat":42.87,"lon":-83.71e0,"acc_m":5}`: `{"v":1,"seq":1,"type":"tamper","x":1,"lat":"(redacted)","lon":"(redacted)","acc_m":5}`,
		`{"lat" : "42.87", "lon":null}`:                                              `{"lat" : "(redacted)", "lon":"(redacted)"}`,
		`{"lat":"a\"b","lon":4`:                                                      `{"lat":"(redacted)","lon":"(redacted)"`,
		`{"v":1,"seq":1,"hr":60}`:                                                    `{"v":1,"seq":1,"hr":60}`,
		`{"flat":1,"v":1,"lat_x":"42.87"}`:                                           `{"flat":1,"v":1,"lat_x":"42.87"}`,
	} {
		if got := string(redactLocation([]byte(in))); got != want {
			t.Errorf("redactLocation(%s) = %s, want %s", in, got, want)
		}
	}
}

// The alarm session's events are copies of what the main session delivers too: the
// first copy of an event is stored once whichever session brings it, the other is
// counted nowhere, and a copy that is rejected leaves the dead-letter entry and the
// count to the main session's. A device's real resend is still one duplicate.
func TestCopiesCountedOnce(t *testing.T) {
	const sos = `{"v":1,"seq":5,"type":"sos"}`
	ev := "carebed/v1/bed-0001/event"
	copyOf := func(m Message) Message { m.Copy = true; return m }
	cases := []struct {
		name                    string
		msgs                    []Message
		stored, dups, rejected  float64
		deadLetters, recsStored int
	}{
		{"alarm copy first", []Message{copyOf(msg(ev, sos)), msg(ev, sos)}, 1, 0, 0, 0, 1},
		{"main first", []Message{msg(ev, sos), copyOf(msg(ev, sos))}, 1, 0, 0, 0, 1},
		{"device resends", []Message{copyOf(msg(ev, sos)), msg(ev, sos), copyOf(msg(ev, sos)), msg(ev, sos)}, 1, 1, 0, 0, 1},
		{"bad event, both copies", []Message{copyOf(msg(ev, `{"v":1,"seq":6,"type":"earthquake"}`)),
			msg(ev, `{"v":1,"seq":6,"type":"earthquake"}`)}, 0, 0, 1, 1, 0},
		{"unknown device, both copies", []Message{copyOf(msg("carebed/v1/ghost/event", sos)),
			msg("carebed/v1/ghost/event", sos)}, 0, 0, 1, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp := &fakeSpool{}
			h, dead, m := newTestHandler(sp)
			for _, one := range c.msgs { // one by one, as the two sessions deliver them
				if err := h.Handle(context.Background(), []Message{one}); err != nil {
					t.Fatal(err)
				}
			}
			got := []float64{testutil.ToFloat64(m.messages.WithLabelValues("event", "stored")),
				testutil.ToFloat64(m.messages.WithLabelValues("event", "duplicate")),
				testutil.ToFloat64(m.messages.WithLabelValues("event", "rejected")) +
					testutil.ToFloat64(m.messages.WithLabelValues("unknown", "rejected"))}
			want := []float64{c.stored, c.dups, c.rejected}
			if fmt.Sprint(got) != fmt.Sprint(want) || len(dead.entries) != c.deadLetters || len(sp.recs) != c.recsStored {
				t.Errorf("stored/duplicate/rejected %v, dead letters %d, records %d; want %v, %d, %d",
					got, len(dead.entries), len(sp.recs), want, c.deadLetters, c.recsStored)
			}
		})
	}
}
