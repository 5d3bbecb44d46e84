package digest

import (
	"context"
	"strings"

	"carebed/gateway/registry"
)

// Words a family phone replies with.
const (
	WordSubscribe   = "订阅"
	WordUnsubscribe = "退订"
)

// parseWord returns whether body is a subscription word and which: 订阅 subscribes;
// 退订 and TD (any case) unsubscribe. Spaces around the word and a final 。 or ! are
// ignored.
func parseWord(body string) (on, ok bool) {
	w := strings.TrimSpace(body)
	w = strings.TrimRight(w, "。.！! ")
	switch {
	case w == WordSubscribe:
		return true, true
	case w == WordUnsubscribe || strings.EqualFold(w, "TD"):
		return false, true
	}
	return false, false
}

// HandleSMS implements alerting/api.Inbound: it takes 订阅, 退订 and TD from a phone
// that is a family phone of a home in the registry, records the choice and answers
// it; any other text, or these words from another number, it leaves to the next
// handler (taken false).
func (s *Service) HandleSMS(ctx context.Context, from, body string) (reply string, taken bool, err error) {
	on, ok := parseWord(body)
	if !ok {
		return "", false, nil
	}
	cs, err := s.o.Homes.ContactsByPhone(ctx, from)
	if err != nil {
		return "", false, err
	}
	family := false
	for _, c := range cs {
		family = family || c.Role == registry.RoleFamily
	}
	if !family {
		return "", false, nil
	}
	if err := s.st.setSubscribed(ctx, from, on, s.o.Now()); err != nil {
		return "", true, err
	}
	if !on {
		s.m.subscriptions.WithLabelValues("unsubscribe").Inc()
		s.log.Info("family digest unsubscribed")
		return "已退订每周简报，不会再发给您。想再收到，请回复订阅。", true, nil
	}
	s.m.subscriptions.WithLabelValues("subscribe").Inc()
	s.log.Info("family digest subscribed")
	return "已订阅每周简报：每" + weekdayZH[s.o.Schedule.Weekday] + clockText(s.o.Schedule.At) +
		"左右发来老人一周的情况。回复退订可停止。", true, nil
}

// weekdayZH are the days of the week as the replies write them.
var weekdayZH = [...]string{"周日", "周一", "周二", "周三", "周四", "周五", "周六"}
