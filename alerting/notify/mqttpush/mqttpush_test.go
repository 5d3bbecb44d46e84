package mqttpush_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"carebed/alerting/notify"
	"carebed/alerting/notify/mqttpush"
	"carebed/alerting/notify/notifytest"
)

// fakePublisher records messages and answers with PublishFunc when set.
type fakePublisher struct {
	PublishFunc func(topic string, payload []byte) error

	mu       sync.Mutex
	calls    int
	topics   []string
	payloads []string
}

func (f *fakePublisher) Publish(topic string, payload []byte) error {
	f.mu.Lock()
	f.calls++
	f.topics = append(f.topics, topic)
	f.payloads = append(f.payloads, string(payload))
	f.mu.Unlock()
	if f.PublishFunc != nil {
		return f.PublishFunc(topic, payload)
	}
	return nil
}

var errBroker = errors.New("not connected")

func TestNotify(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		responder string
		ctx       context.Context
		pubErr    error
		wantErr   error // errors.Is target; nil means success
		wantRetry bool
		wantCalls int
	}{
		{name: "published", responder: "r-0012", wantCalls: 1},
		{name: "broker error is retried", responder: "r-0012", pubErr: errBroker, wantErr: errBroker, wantRetry: true, wantCalls: 1},
		{name: "no responder id", responder: "", wantErr: notify.ErrNoAddress},
		{name: "slash in responder id", responder: "r/0012", wantErr: mqttpush.ErrBadResponder},
		{name: "wildcard plus", responder: "+", wantErr: mqttpush.ErrBadResponder},
		{name: "wildcard hash", responder: "#", wantErr: mqttpush.ErrBadResponder},
		{name: "context cancelled", responder: "r-0012", ctx: cancelled, wantErr: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub := &fakePublisher{PublishFunc: func(string, []byte) error { return tc.pubErr }}
			nf, err := mqttpush.New(mqttpush.Options{Publisher: pub,
				Now: func() time.Time { return time.UnixMilli(1760000000123) }})
			if err != nil {
				t.Fatal(err)
			}
			n := notifytest.Sample
			n.To.Responder = tc.responder
			ctx := tc.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			r, retry, err := nf.Notify(ctx, n)
			if pub.calls != tc.wantCalls || retry != tc.wantRetry {
				t.Errorf("%d publishes, retry %v; want %d, %v", pub.calls, retry, tc.wantCalls, tc.wantRetry)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("Notify error %v, want %v", err, tc.wantErr)
				}
				notifytest.NoSecrets(t, err.Error(), notifytest.PersonalData(n)...)
				return
			}
			if err != nil || r.Status != mqttpush.StatusPublished {
				t.Fatalf("Notify = %+v, %v", r, err)
			}
			if want := "carebed/v1/responders/r-0012/alerts"; pub.topics[0] != want {
				t.Errorf("topic %q, want %q", pub.topics[0], want)
			}
			want := `{"v":1,"id":42,"alert":"K7M2","kind":"fall","sev":"critical","purpose":"page","text":"` +
				n.Text + `","ts":1760000000123}`
			if pub.payloads[0] != want {
				t.Errorf("payload\n%s\nwant\n%s", pub.payloads[0], want)
			}
		})
	}
}

func TestNewRequiresPublisher(t *testing.T) {
	if _, err := mqttpush.New(mqttpush.Options{}); err == nil {
		t.Error("New without Publisher succeeded")
	}
}

func TestRetryUntilTheBrokerIsBack(t *testing.T) {
	var fails int
	pub := &fakePublisher{PublishFunc: func(string, []byte) error {
		if fails < 2 {
			fails++
			return errBroker
		}
		return nil
	}}
	nf, err := mqttpush.New(mqttpush.Options{Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	o := notify.RetryOptions{Min: time.Millisecond, Max: time.Millisecond, Logger: discardLogger()}
	if _, n, err := notify.Retry(t.Context(), nf, notifytest.Sample, o); err != nil || n != 3 {
		t.Errorf("Retry = %d attempts, %v; want 3, nil", n, err)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
