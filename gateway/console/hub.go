package console

import (
	"sync"

	"carebed/alerting"
)

// Change is one change of an alert, as pages hear of it.
type Change struct {
	AlertID int64
	Place   alerting.Place
	What    string // raised, notified, acknowledged, handed_over, resolved, ...
}

// AlertChanged publishes a change of the alert store's feed to the open pages;
// subscribe it to the store (alerting.Feed).
func (c *Console) AlertChanged(ch alerting.Change) {
	c.Hub().Publish(Change{AlertID: ch.Alert.ID, Place: ch.Alert.Place, What: string(ch.What)})
}

// Hub fans alert changes out to the open pages (server-sent events). A page that
// does not keep up misses changes, never blocks the alerting: it refreshes on the
// next one.
type Hub struct {
	mu   sync.Mutex
	subs map[chan Change]struct{}
}

// NewHub returns an empty hub.
func NewHub() *Hub { return &Hub{subs: map[chan Change]struct{}{}} }

// Publish tells every subscriber about c without waiting for any of them.
func (h *Hub) Publish(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- c:
		default: // a slow page: it catches up at the next change
		}
	}
}

// Subscribe returns a channel of changes and the function that ends the subscription.
func (h *Hub) Subscribe() (<-chan Change, func()) {
	ch := make(chan Change, 16)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}
