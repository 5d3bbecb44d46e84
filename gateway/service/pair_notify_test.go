package service

import (
	"context"
	"errors"
	"testing"
	"time"

	"carebed/alerting/notify"
	"carebed/gateway/lease"
	"carebed/internal/devsvc"
)

// countingNotifier counts its Notify calls and can find messages (like Twilio).
type countingNotifier struct{ n int }

func (c *countingNotifier) Notify(context.Context, notify.Notification) (notify.Receipt, bool, error) {
	c.n++
	return notify.Receipt{ProviderID: "SM1"}, false, nil
}

func (c *countingNotifier) Find(context.Context, notify.Notification, time.Time) ([]notify.Receipt, bool, error) {
	return nil, false, nil
}

// TestPairNotifiesOnlyWithALiveLease: in the pair mode a notification reaches the
// provider only while the gateway holds a live lease; without it nothing is sent and
// the gateway steps down. The guard keeps a Twilio notifier's Finder (asked after a
// takeover about pages in flight).
func TestPairNotifiesOnlyWithALiveLease(t *testing.T) {
	ctx := context.Background()
	l, err := lease.Open(ctx, devsvc.StartPostgres(t).NewDatabase(t), lease.Options{Holder: "gw-a", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	g := &Gateway{pair: &pair{lease: l}}
	inner := &countingNotifier{}
	ns := map[string]notify.Notifier{"sms": inner}
	g.guardNotifiers(ns)
	if _, ok := ns["sms"].(notify.Finder); !ok {
		t.Fatal("the guard hid the notifier's Finder")
	}
	stepped := false
	_, stop := context.WithCancel(ctx)
	g.pair.stop = func() { stepped = true; stop() }

	if _, _, err := ns["sms"].Notify(ctx, notify.Notification{}); !errors.Is(err, errStandby) || inner.n != 0 || !stepped {
		t.Fatalf("without the lease: err %v, %d sent, stepped down %v; want errStandby, 0, true", err, inner.n, stepped)
	}
	if ok, err := l.Acquire(ctx); !ok || err != nil {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	if _, _, err := ns["sms"].Notify(ctx, notify.Notification{}); err != nil || inner.n != 1 {
		t.Fatalf("with the lease: err %v, %d sent; want nil, 1", err, inner.n)
	}
}
