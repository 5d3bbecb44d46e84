package visits

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// tokenIn returns the token of the link in a list SMS.
func tokenIn(t *testing.T, text string) string {
	t.Helper()
	_, tok, ok := strings.Cut(text, "https://gw.test/v/")
	if !ok || len(tok) != 22 {
		t.Fatalf("no link in %q", text)
	}
	return tok
}

func TestOneTapLinks(t *testing.T) {
	eachBackend(t, func(t *testing.T, newFixture fixtureFn, newFixtureWith fixtureWithFn) {
		ctx := context.Background()
		f := newFixtureWith(t, smallLedger, nil, "https://gw.test/v/")
		if _, err := f.svc.Morning(ctx, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		links := map[string]string{}
		for _, m := range f.sms.take() {
			if m.purpose != purposeOverdue {
				links[m.to] = tokenIn(t, m.text)
				if units(m.text) > MaxListUnits {
					t.Errorf("list with link too long: %q", m.text)
				}
			}
		}
		visit, round := links[visitorJia], links[doctorYi]
		v, err := f.svc.OpenLink(ctx, visit)
		if err != nil || v.Kind != KindVisit || len(v.Homes) != 2 || v.Homes[0].Care.Place.Home != "H-0001" {
			t.Fatalf("visitor's link shows %+v, %v", v, err)
		}
		if n := f.count(t); n != 0 {
			t.Fatal("opening a link recorded something")
		}
		f.clock.Add(2 * time.Hour)
		if got, err := f.svc.LinkCheckIn(ctx, visit, "H-0001", StateGood, "都好", Vitals{}); err != nil || got.Source != SourceLink ||
			got.ByPhone != visitorJia || got.Kind != KindVisit {
			t.Fatalf("link check-in = %+v, %v", got, err)
		}
		if v, _ := f.svc.OpenLink(ctx, visit); len(v.Homes) != 1 {
			t.Errorf("after the check-in the link shows %d homes, want 1", len(v.Homes))
		}
		var ie *InputError
		if _, err := f.svc.LinkCheckIn(ctx, visit, "H-0013", "", "", Vitals{}); !errors.As(err, &ie) || ie.Reason != "not_yours" {
			t.Errorf("another visitor's home by link: %v", err)
		}
		vit, err := ParseVitals("140/90", "7.1", "")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.svc.LinkCheckIn(ctx, round, "H-0002", "", "", vit); err != nil || got.Kind != KindRound || *got.Vitals.SBP != 140 {
			t.Errorf("round by link = %+v, %v", got, err)
		}
		if _, err := ParseVitals("300/20", "", ""); !errors.As(err, &ie) || ie.Reason != "bad_vital" {
			t.Errorf("ParseVitals(300/20) = %v", err)
		}
		if _, err := f.svc.OpenLink(ctx, "AAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrLinkUnknown) {
			t.Errorf("unknown token: %v", err)
		}
		f.clock.Add(DefaultLinkTTL)
		if _, err := f.svc.LinkCheckIn(ctx, visit, "H-0002", "", "", Vitals{}); !errors.Is(err, ErrLinkExpired) {
			t.Errorf("expired link: %v", err)
		}
		if n := f.count(t); n != 2 {
			t.Errorf("%d visits recorded, want 2", n)
		}
	})
}
