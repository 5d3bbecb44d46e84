package visits

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"carebed/gateway/registry"
)

// DefaultLinkTTL is how long the link in a morning list works: until the next
// morning's list and a little more.
const DefaultLinkTTL = 36 * time.Hour

// Errors of a one-tap link.
var (
	ErrLinkUnknown = errors.New("visits: unknown link")
	ErrLinkExpired = errors.New("visits: link expired")
)

// hashToken is what the database keeps of a link's token.
func hashToken(token string) string {
	h := sha256.Sum256([]byte("carebed visits link:" + token))
	return hex.EncodeToString(h[:])
}

// newLink makes a link for phone's list of kind: LinkBase and a random token.
func (s *Service) newLink(ctx context.Context, phone string, kind Kind, now time.Time) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	if err := s.st.putLink(ctx, hashToken(token), phone, kind, now.Add(s.o.LinkTTL), now); err != nil {
		return "", err
	}
	return s.o.LinkBase + token, nil
}

// LinkView is what a one-tap link shows: the kind of its list and the homes of the
// person it was sent to that are due now.
type LinkView struct {
	Kind  Kind
	Homes []Due
}

// openLink returns the phone and kind of a valid token.
func (s *Service) openLink(ctx context.Context, token string) (string, Kind, error) {
	phone, kind, expires, found, err := s.st.link(ctx, hashToken(token))
	switch {
	case err != nil:
		return "", "", err
	case !found:
		return "", "", ErrLinkUnknown
	case !s.o.Now().Before(expires):
		return "", "", ErrLinkExpired
	}
	return phone, kind, nil
}

// OpenLink returns what a link shows; it changes nothing (SMS apps fetch links to
// preview them).
func (s *Service) OpenLink(ctx context.Context, token string) (LinkView, error) {
	phone, kind, err := s.openLink(ctx, token)
	if err != nil {
		return LinkView{}, err
	}
	dues, err := s.Due(ctx, s.o.Now())
	if err != nil {
		return LinkView{}, err
	}
	v := LinkView{Kind: kind}
	for _, d := range dues {
		if d.Kind == kind && phoneOf(d.Care, kind) == phone {
			v.Homes = append(v.Homes, d)
		}
	}
	return v, nil
}

// phoneOf is who gets a home's list of kind.
func phoneOf(c registry.Care, kind Kind) string {
	if kind == KindRound {
		return c.DoctorPhone
	}
	return c.VisitorPhone
}

// LinkCheckIn records a check-in of the link's kind at one of the homes of the
// person the link was sent to, as if they had sent the SMS. Bad input is an
// *InputError.
func (s *Service) LinkCheckIn(ctx context.Context, token, home string, state State, note string, vit Vitals) (Visit, error) {
	phone, kind, err := s.openLink(ctx, token)
	if err != nil {
		return Visit{}, err
	}
	m := Message{Kind: kind, Code: home, State: state, Note: note, Vitals: vit}
	v, err := s.smsCheckIn(ctx, phone, m, SourceLink)
	return v, err
}
