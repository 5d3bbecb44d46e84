package console

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"carebed/alerting"
)

// LinkStore keeps one-tap links: the alert store's part for them.
type LinkStore = alerting.Links

// Links makes and checks the one-tap acknowledgement links of SMS pages. A link's
// token is 6 random bytes and the first 6 bytes of their HMAC-SHA256 under the site's
// key, 16 characters of base64url: a token changed anywhere fails the check before the
// store is asked. The store row ties it to one alert and one person, with its expiry,
// and makes it single-use.
type Links struct {
	key     []byte
	store   LinkStore
	baseURL string // e.g. https://carebed.example.cn
	ttl     time.Duration
	now     func() time.Time
}

// Errors of a link.
var (
	ErrLinkTampered = errors.New("link altered or not ours")
	ErrLinkUnknown  = errors.New("no such link")
)

const (
	randBytes = 6
	macBytes  = 6
)

// NewLinks returns a link maker with key (at least 16 bytes) for links under
// baseURL/a/ that stay valid for ttl.
func NewLinks(key []byte, store LinkStore, baseURL string, ttl time.Duration, now func() time.Time) (*Links, error) {
	if len(key) < 16 {
		return nil, errors.New("console: link key shorter than 16 bytes")
	}
	if now == nil {
		now = time.Now
	}
	return &Links{key: key, store: store, baseURL: baseURL, ttl: ttl, now: now}, nil
}

// LoadKey reads the link key from path, creating a random one (mode 0600) the first
// time, so links survive restarts.
func LoadKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil && len(b) >= 32 {
		return b[:32], nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("console: link key: %w", err)
	}
	key := make([]byte, 32)
	rand.Read(key) //nolint:errcheck // never fails
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("console: link key: %w", err)
	}
	return key, nil
}

func (l *Links) sign(r []byte) []byte {
	m := hmac.New(sha256.New, l.key)
	m.Write(r)
	return m.Sum(nil)[:macBytes]
}

// Make records a new link for p about a and returns its URL: the escalation's Link
// hook.
func (l *Links) Make(ctx context.Context, a alerting.Alert, p alerting.Person) (string, error) {
	r := make([]byte, randBytes, randBytes+macBytes)
	rand.Read(r) //nolint:errcheck // never fails
	token := base64.RawURLEncoding.EncodeToString(append(r, l.sign(r)...))
	err := l.store.CreateLink(ctx, alerting.Link{ID: token, AlertID: a.ID, PersonID: p.ID, Expires: l.now().Add(l.ttl)})
	if err != nil {
		return "", err
	}
	return l.baseURL + "/a/" + token, nil
}

// check verifies the token's signature.
func (l *Links) check(token string) error {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != randBytes+macBytes {
		return ErrLinkTampered
	}
	if subtle.ConstantTimeCompare(l.sign(b[:randBytes]), b[randBytes:]) != 1 {
		return ErrLinkTampered
	}
	return nil
}

// Peek returns the link without using it: what the page shows before the tap.
func (l *Links) Peek(ctx context.Context, token string) (alerting.Link, error) {
	if err := l.check(token); err != nil {
		return alerting.Link{}, err
	}
	link, err := l.store.LinkByID(ctx, token)
	if errors.Is(err, alerting.ErrNotFound) {
		return link, ErrLinkUnknown
	}
	return link, err
}

// Use uses the link once: alerting.ErrLinkUsed the second time, ErrLinkExpired after
// its expiry, ErrLinkTampered for an altered token.
func (l *Links) Use(ctx context.Context, token string) (alerting.Link, error) {
	if err := l.check(token); err != nil {
		return alerting.Link{}, err
	}
	link, err := l.store.UseLink(ctx, token, l.now())
	if errors.Is(err, alerting.ErrNotFound) {
		return link, ErrLinkUnknown
	}
	return link, err
}
