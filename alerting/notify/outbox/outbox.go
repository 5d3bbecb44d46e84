// Package outbox is the SMS notifier used when no Twilio credentials are
// configured (the demo, a site still waiting for its account): each message is
// appended as one JSON line to a local file, which holds the phone number and the
// text and is created readable by its owner only, and is announced in the log by
// alert code, purpose and person ID alone.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"carebed/alerting/notify"
)

// StatusWritten is the Receipt status of a message written to the outbox.
const StatusWritten = "written"

// Options configures an Outbox.
type Options struct {
	// Path is the outbox file; required. It is created (mode 0600) if missing and
	// appended to otherwise.
	Path string
	// Logger receives one line per message (default slog.Default()).
	Logger *slog.Logger
	// Now stamps the lines (default time.Now).
	Now func() time.Time
}

// Line is one message in the outbox file.
type Line struct {
	Time      time.Time      `json:"time"`
	AlertID   int64          `json:"alert_id"`
	AlertCode string         `json:"alert"`
	Purpose   notify.Purpose `json:"purpose"`
	ToID      string         `json:"to_id"`
	ToPhone   string         `json:"to_phone"`
	Text      string         `json:"text"`
	// ID is the Receipt's ProviderID: "outbox-<opened>-<n>", the Unix time in
	// milliseconds when the Outbox was opened and a count of its messages.
	ID string `json:"id"`
}

// Outbox is a Notifier that writes SMS to a file. It is safe for concurrent use;
// lines are never interleaved.
type Outbox struct {
	log *slog.Logger
	now func() time.Time

	prefix string // "outbox-<opened>-"

	mu     sync.Mutex
	f      *os.File
	n      int64
	closed bool
}

var _ notify.Notifier = (*Outbox)(nil)

// ErrClosed is returned by Notify after Close.
var ErrClosed = errors.New("outbox: closed")

// New opens (or creates) the outbox file.
func New(o Options) (*Outbox, error) {
	if o.Path == "" {
		return nil, errors.New("outbox: Path is required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	f, err := os.OpenFile(o.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return &Outbox{log: o.Logger.With("notifier", "outbox"), now: o.Now, f: f,
		prefix: "outbox-" + strconv.FormatInt(o.Now().UnixMilli(), 10) + "-"}, nil
}

// Notify appends n to the file as one line and logs it (without phone, name or
// text). It never asks for a retry: a local file that cannot be written will not
// be fixed by waiting. Errors: notify.ErrNoAddress for a person without a phone
// number, ErrClosed after Close, the context's error, or a failed write.
func (o *Outbox) Notify(ctx context.Context, n notify.Notification) (notify.Receipt, bool, error) {
	if err := ctx.Err(); err != nil {
		return notify.Receipt{}, false, fmt.Errorf("outbox: %w", err)
	}
	if n.To.Phone == "" {
		return notify.Receipt{}, false, fmt.Errorf("outbox: %w", notify.ErrNoAddress)
	}
	id, err := o.write(n)
	if err != nil {
		return notify.Receipt{}, false, err
	}
	o.log.Info("sms written to outbox", "alert", n.AlertCode, "purpose", string(n.Purpose), "to", n.To.ID, "id", id)
	return notify.Receipt{ProviderID: id, Status: StatusWritten}, false, nil
}

func (o *Outbox) write(n notify.Notification) (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return "", ErrClosed
	}
	id := o.prefix + strconv.FormatInt(o.n+1, 10)
	b, err := json.Marshal(Line{Time: o.now().UTC(), AlertID: n.AlertID, AlertCode: n.AlertCode,
		Purpose: n.Purpose, ToID: n.To.ID, ToPhone: n.To.Phone, Text: n.Text, ID: id})
	if err != nil {
		return "", fmt.Errorf("outbox: encoding: %w", err)
	}
	if _, err := o.f.Write(append(b, '\n')); err != nil {
		return "", fmt.Errorf("outbox: writing: %w", err)
	}
	o.n++
	return id, nil
}

// Close closes the file. Notify fails with ErrClosed afterwards.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	if err := o.f.Close(); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}
