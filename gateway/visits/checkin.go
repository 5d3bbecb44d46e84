package visits

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"carebed/gateway/points"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
)

// Sources of a check-in.
const (
	SourceSMS     = "sms"
	SourceLink    = "link"
	SourceConsole = "console"
	SourceDevice  = "device"
)

// CheckIn is a visit or round someone checks in (by SMS, the link or the console).
// ByPhone is personal data.
type CheckIn struct {
	Kind            Kind
	Home            string
	Source          string
	ByRole, ByPhone string
	State           State
	Note            string
	Vitals          Vitals
}

// HandleSMS takes an SMS that is a check-in ("到 H-0001 好", "巡诊 H-0001 血压135/85");
// taken is false for any other text (an alert reply), which it leaves alone. The reply
// is one line for the sender: what was recorded, or what was wrong. err is a failure
// of the store, and then nothing was recorded.
func (s *Service) HandleSMS(ctx context.Context, from, body string) (reply string, taken bool, err error) {
	m, taken, err := ParseSMS(body)
	if !taken {
		return "", false, nil
	}
	if err == nil {
		var v Visit
		v, err = s.smsCheckIn(ctx, from, m, SourceSMS)
		if err == nil {
			return recordedText(v), true, nil
		}
	}
	var ie *InputError
	if errors.As(err, &ie) {
		s.m.rejected.WithLabelValues(ie.Reason).Inc()
		s.log.Info("check-in SMS refused", "reason", ie.Reason)
		return ie.Answer, true, nil
	}
	return "", true, err
}

// smsCheckIn finds the home an SMS (or a link) names among the sender's and records
// the check-in.
func (s *Service) smsCheckIn(ctx context.Context, from string, m Message, source string) (Visit, error) {
	contacts, err := s.o.Homes.ContactsByPhone(ctx, from)
	if err != nil {
		return Visit{}, err
	}
	roles := map[string]string{} // home -> the sender's role there (doctor wins)
	for _, c := range contacts {
		if c.Role == registry.RoleVillageDoctor || c.Role == registry.RoleVillageVisitor && roles[c.Home] == "" {
			roles[c.Home] = c.Role
		}
	}
	if len(roles) == 0 {
		return Visit{}, &InputError{Reason: "unknown_sender", Answer: "此号码未登记为探访员或村医，不能登记" + m.Kind.Chinese() + "。请联系乡镇卫生院。"}
	}
	home, err := s.findHome(ctx, m.Code, roles)
	if err != nil {
		return Visit{}, err
	}
	role := roles[home]
	switch {
	case role == "":
		return Visit{}, &InputError{Reason: "not_yours", Answer: home + "不是您负责的户，未登记。请核对户编号。"}
	case m.Kind == KindRound && role != registry.RoleVillageDoctor:
		return Visit{}, &InputError{Reason: "not_doctor", Answer: "巡诊只能由" + home + "的村医登记。探访请回复：到 " + home}
	}
	return s.Record(ctx, CheckIn{Kind: m.Kind, Home: home, Source: source, ByRole: role, ByPhone: from,
		State: m.State, Note: m.Note, Vitals: m.Vitals})
}

// findHome returns the id of the home a code names: a home id (any case), or the
// number at the end of one of the sender's homes ("1" or "0001" for H-0001).
func (s *Service) findHome(ctx context.Context, code string, mine map[string]string) (string, error) {
	if n, err := strconv.Atoi(code); err == nil && tailNumber(code) == n { // digits only
		var found []string
		for h := range mine {
			if tailNumber(h) == n {
				found = append(found, h)
			}
		}
		switch len(found) {
		case 1:
			return found[0], nil
		case 0:
			return "", &InputError{Reason: "unknown_home", Answer: "您负责的户中没有编号" + code + "，请写完整户编号，如 H-0001。"}
		}
		return "", &InputError{Reason: "ambiguous_home", Answer: "编号" + code + "对应多户，请写完整户编号，如 H-0001。"}
	}
	for _, id := range []string{code, strings.ToUpper(code)} {
		if _, ok := mine[id]; ok {
			return id, nil
		}
		c, err := s.o.Homes.CareOf(ctx, id)
		switch {
		case err == nil:
			return c.Place.Home, nil
		case !errors.Is(err, registry.ErrNotFound):
			return "", err
		}
	}
	return "", &InputError{Reason: "unknown_home", Answer: "没有户编号" + clip(code, 16) + "，请核对后重发。"}
}

// tailNumber is the number a home id ends with, -1 when none.
func tailNumber(id string) int {
	i := len(id)
	for i > 0 && id[i-1] >= '0' && id[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(id[i:])
	if err != nil {
		return -1
	}
	return n
}

// recordedText is the answer to a recorded check-in.
func recordedText(v Visit) string {
	t := "已登记" + v.Home + v.Kind.Chinese()
	if vt := v.Vitals.Text(); vt != "" {
		t += "：" + vt
	}
	return t + "。谢谢！"
}

// Record records a check-in at the current time: confirmed when the home's sensors
// showed someone within Window before, otherwise confirmed later if they show someone
// within Window after. The home must exist.
func (s *Service) Record(ctx context.Context, c CheckIn) (Visit, error) {
	care, err := s.o.Homes.CareOf(ctx, c.Home)
	if err != nil {
		return Visit{}, err
	}
	p := care.Place
	v := Visit{Kind: c.Kind, Home: p.Home, County: p.County, Township: p.Township, Village: p.Village,
		At: s.o.Now(), Source: c.Source, ByRole: c.ByRole, ByPhone: c.ByPhone, State: c.State,
		Note: clip(c.Note, maxNoteRunes), Vitals: c.Vitals}
	v.Confirmed = s.sawActivity(v.Home, v.At) || s.historyActive(ctx, v.Home, v.At)
	if _, err := s.st.insert(ctx, &v, s.o.Now()); err != nil {
		return Visit{}, err
	}
	if !v.Confirmed {
		s.awaitEvidence(v)
	}
	s.recorded(v)
	return v, nil
}

// deviceVisit records a device's visit event: confirmed, since the device is in the
// home. A redelivered event (same device and seq) is recorded once.
func (s *Service) deviceVisit(ctx context.Context, t points.Tags, e protocol.Event, at time.Time) error {
	v := Visit{Kind: KindVisit, Home: t.Home, County: t.County, Township: t.Township, Village: t.Village,
		At: at, Source: SourceDevice, Device: t.Device, Seq: e.Seq, Confirmed: true}
	added, err := s.st.insert(ctx, &v, s.o.Now())
	if err != nil || !added {
		return err
	}
	s.recorded(v)
	return nil
}

// recorded counts a new visit and writes its point.
func (s *Service) recorded(v Visit) {
	s.m.checkins.WithLabelValues(string(v.Kind), v.Source, strconv.FormatBool(v.Confirmed)).Inc()
	s.log.Info("check-in recorded", "kind", v.Kind, "home", v.Home, "source", v.Source, "confirmed", v.Confirmed, "visit", v.ID)
	s.writePoint(v)
}

// writePoint writes a visit's point through the spool; a failure is logged (the
// visits database is the record).
func (s *Service) writePoint(v Visit) {
	if s.o.Spool == nil {
		return
	}
	p := points.VisitPoint{County: v.County, Township: v.Township, Village: v.Village, Home: v.Home,
		Round: v.Kind == KindRound, Source: v.Source, Device: v.Device, ID: v.ID, State: string(v.State),
		Confirmed: v.Confirmed, SBP: v.Vitals.SBP, DBP: v.Vitals.DBP, HR: v.Vitals.HR, Glucose: v.Vitals.Glucose, At: v.At}
	rec := points.AppendVisit(points.AppendRecordHeader(nil, "visits"), p)
	if err := s.o.Spool.Append([][]byte{rec}); err != nil {
		s.log.Warn("visit point not written to the spool", "visit", v.ID, "err", err)
	}
}

// Recent returns the visits and rounds recorded since a time, newest first, at most
// limit.
func (s *Service) Recent(ctx context.Context, since time.Time, limit int) ([]Visit, error) {
	return s.st.listN(ctx, limit, `WHERE at_ms >= ?`, since.UnixMilli())
}

// Between returns a home's visits and rounds at or after from and before to, newest
// first.
func (s *Service) Between(ctx context.Context, home string, from, to time.Time) ([]Visit, error) {
	return s.st.list(ctx, `WHERE home = ? AND at_ms >= ? AND at_ms < ?`, home, from.UnixMilli(), to.UnixMilli())
}

// historyActive asks the stored sensor data for evidence up to Window before at (what
// came after at is seen as it arrives); false when there is no History or it fails.
func (s *Service) historyActive(ctx context.Context, home string, at time.Time) bool {
	if s.o.History == nil {
		return false
	}
	ok, err := s.o.History.Active(ctx, home, at.Add(-Window), at)
	if err != nil {
		s.log.Warn("sensor history not read; the check-in waits for live evidence", "home", home, "err", err)
		return false
	}
	return ok
}
