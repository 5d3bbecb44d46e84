package alerting

import "time"

// ChangeKind names a committed change of an alert. The values are also the change
// tag of InfluxDB's alert measurement and the live console's event names.
type ChangeKind string

// Change kinds.
const (
	ChangeRaised       ChangeKind = "raised"       // a new alert, paged at once
	ChangeHeld         ChangeKind = "held"         // a new alert held for its cancel hold-off
	ChangeCancelled    ChangeKind = "cancelled"    // closed by the device inside the hold-off
	ChangeGrouped      ChangeKind = "grouped"      // folded into a village outage
	ChangeNotified     ChangeKind = "notified"     // the first page went out
	ChangeAcknowledged ChangeKind = "acknowledged" // someone took it
	ChangeHandedOver   ChangeKind = "handed_over"  // passed to someone else
	ChangeResolved     ChangeKind = "resolved"     // closed by a person
	ChangeAttempt      ChangeKind = "attempt"      // a notification attempt finished
	ChangeDelivery     ChangeKind = "delivery"     // a provider's delivery receipt
	// ChangeDeviceCancelled: the device cancelled after the pages went out; the
	// alert stays open.
	ChangeDeviceCancelled ChangeKind = "device_cancelled"
)

// Change is one committed change, as the store published it.
type Change struct {
	What ChangeKind
	// Alert is the alert as the change left it.
	Alert Alert
	// Attempt is the attempt of ChangeAttempt and ChangeDelivery, else nil.
	Attempt *Attempt
	// At is the time the writer gave the change (its injected clock).
	At time.Time
}

// Feed publishes every committed change of a store: InfluxDB's alert measurement,
// the console's live pages and the metrics listen here, so no write can bypass them.
type Feed interface {
	// Subscribe calls f with every change committed from now on, in commit order,
	// on the committing goroutine, after the commit. f must be quick and must not
	// write to the store. Subscribe before the store is used.
	Subscribe(f func(Change))
}
