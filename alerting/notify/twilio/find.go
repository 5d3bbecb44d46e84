package twilio

import (
	"context"
	"fmt"
	"regexp"
	"time"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"carebed/alerting/notify"
)

// findLimit bounds how many of the newest messages to one number Find reads: the
// per-person rate limit keeps them few, and the ones it looks for are the newest.
const findLimit = 200

var _ notify.Finder = (*Notifier)(nil)

// Find asks Twilio's Messages list, filtered by To (n.To.Phone) and From, for the
// messages created at or after since whose body is n.Text, URLs aside, and returns
// their receipts (SID and status) newest first. It reads at most the newest
// findLimit messages to that number, in pages.
//
// It does not filter by DateSent, although the API can: a message Twilio has
// accepted but still holds in its queue (a sender sends one SMS a second) has no
// date_sent yet, and would be missed, then sent twice. date_created, which every
// message has, is compared here instead.
func (nf *Notifier) Find(ctx context.Context, n notify.Notification, since time.Time) ([]notify.Receipt, bool, error) {
	if n.To.Phone == "" {
		return nil, false, fmt.Errorf("twilio: %w", notify.ErrNoAddress)
	}
	ctx, cancel := context.WithTimeout(ctx, nf.o.Timeout)
	defer cancel()
	at := &attempt{ctx: ctx, target: nf.target, base: nf.base.Transport}
	params := (&openapi.ListMessageParams{}).SetTo(n.To.Phone).SetFrom(nf.o.From).SetPageSize(50).SetLimit(findLimit)
	msgs, err := nf.api(at).ListMessage(params)
	if err != nil {
		if at.status >= 200 && at.status < 300 {
			return nil, true, fmt.Errorf("twilio: the message list is unreadable (HTTP %d): %w", at.status, err)
		}
		_, retry, err := classify(nil, err, at)
		return nil, retry, err
	}
	want := maskURLs(n.Text)
	var out []notify.Receipt
	for _, m := range msgs {
		if m.Sid == nil || m.Body == nil || maskURLs(*m.Body) != want || !createdSince(m.DateCreated, since) {
			continue
		}
		r := notify.Receipt{ProviderID: *m.Sid}
		if m.Status != nil {
			r.Status = *m.Status
		}
		out = append(out, r)
	}
	return out, false, nil
}

// urls are what maskURLs sets aside: http(s) URLs up to a space or a non-ASCII
// character (Chinese punctuation follows a link in the templates).
var urls = regexp.MustCompile(`https?://[!-~]+`)

func maskURLs(s string) string { return urls.ReplaceAllString(s, "<url>") }

// createdSince reads Twilio's date_created (RFC 1123 with a numeric zone); a missing
// or unreadable one is no match: it may be an earlier repeat of the same page, and a
// page twice is better than never.
func createdSince(created *string, since time.Time) bool {
	if created == nil {
		return false
	}
	t, err := time.Parse(time.RFC1123Z, *created)
	return err == nil && !t.Before(since)
}
