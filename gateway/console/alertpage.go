package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"carebed/alerting"
	"carebed/alerting/api"
	"carebed/gateway/registry"
)

// AlertData is one alert's page.
type AlertData struct {
	Page
	A             Row
	Home          registry.Home
	MapURL        string
	Timeline      []Entry
	Notifications []Notice
	Readings      []Reading
	HandOverTo    []Option
	Outcomes      []Option
	CanAck        bool
	CanResolve    bool
	CanHandOver   bool
	// NowMs is the server's clock (Unix ms) for the ticking age; CancelledAt says
	// when the device cancelled after paging ("" when it did not).
	NowMs       int64
	CancelledAt string
}

// Entry is one line of the timeline.
type Entry struct{ Time, What, Who, Channel, Detail string }

// Notice is one notification attempt.
type Notice struct{ Time, To, Channel, Purpose, Status string }

// Reading is one row of recent telemetry.
type Reading struct{ Time, Device, HR, RR, Occupied, Battery string }

// Option is a choice of a select.
type Option struct{ Value, Text string }

func (c *Console) alertPage(q *request) {
	ctx := q.r.Context()
	id, _ := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	d, err := c.o.API.Detail(ctx, q.caller, id)
	if errors.Is(err, api.ErrNoSuchAlert) {
		http.NotFound(q.w, q.r)
		return
	}
	if err != nil {
		c.fail(q.w, err)
		return
	}
	names := newNames(c, q.lang)
	a := d.Alert
	data := AlertData{Page: c.page(q, "open"), A: c.row(ctx, q.lang, a, names),
		CanAck:      waiting(a),
		CanResolve:  q.caller.May(alerting.ActionResolve) && a.State != alerting.StateResolved,
		CanHandOver: a.State == alerting.StateAcknowledged, NowMs: c.o.Now().UnixMilli()}
	if h, err := c.o.Homes.Home(ctx, a.Place.Home); err == nil {
		data.Home = h
		if h.Lat != 0 || h.Lon != 0 {
			data.MapURL = fmt.Sprintf("geo:%.5f,%.5f", h.Lat, h.Lon)
		}
	}
	for _, r := range d.Audit {
		data.Timeline = append(data.Timeline, Entry{Time: c.clock(r.At), What: auditWhat(q.lang, r.What),
			Who: c.actor(ctx, q.lang, names, r), Channel: c.channel(q.lang, r), Detail: c.auditDetail(ctx, q.lang, names, r)})
		if r.What == deviceCancelledNote {
			data.CancelledAt = fmt.Sprintf(tr(q.lang, "cancelled.at"), r.At.In(c.o.Location).Format("15:04:05"))
			data.A.Cancelled = true
		}
	}
	for _, n := range d.Notifications {
		data.Notifications = append(data.Notifications, Notice{Time: c.clock(n.CreatedAt), To: names.of(ctx, n.PersonID),
			Channel: word(q.lang, "ch.", n.Channel), Purpose: word(q.lang, "purpose.", n.Purpose),
			Status: word(q.lang, "status.", n.Status)})
	}
	data.Readings = c.readings(ctx, q.lang, a.Place.Home)
	for _, o := range api.Outcomes() {
		data.Outcomes = append(data.Outcomes, Option{Value: string(o), Text: tr(q.lang, "out."+string(o))})
	}
	if data.CanHandOver {
		data.HandOverTo = c.handOverTo(ctx, q.caller, a)
	}
	c.render(q.w, "alert", http.StatusOK, data)
}

func (c *Console) clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(c.o.Location).Format("01-02 15:04:05")
}

// maxReadings keeps the alert page short on a phone: the newest few readings say
// whether the bed is occupied and the battery fine; Grafana has the rest.
const maxReadings = 6

// readings are the home's telemetry of the last hour, newest first.
func (c *Console) readings(ctx context.Context, l, home string) []Reading {
	if c.o.Readings == nil {
		return nil
	}
	rows, err := c.o.Readings.Recent(ctx, home, time.Hour, maxReadings)
	if err != nil {
		c.log.Warn("recent readings unavailable", "home", home, "err", err)
		return nil
	}
	out := make([]Reading, 0, len(rows))
	for _, r := range rows {
		out = append(out, Reading{Time: c.clock(r.Time), Device: text(r.Values["device"]), HR: text(r.Values["hr"]),
			RR: text(r.Values["rr"]), Occupied: yesNo(l, r.Values["occupied"]), Battery: text(r.Values["battery"])})
	}
	return out
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case json.Number:
		return x.String()
	default:
		return fmt.Sprint(x)
	}
}

// yesNo writes a yes/no reading in words (是/否), not in glyphs a font may lack.
func yesNo(l string, v any) string {
	b, ok := v.(bool)
	switch {
	case !ok:
		return text(v)
	case b:
		return tr(l, "yes")
	}
	return tr(l, "no")
}

// handOverTo lists the other active users who see the alert.
func (c *Console) handOverTo(ctx context.Context, me api.Caller, a alerting.Alert) []Option {
	users, err := c.o.Users.Users(ctx)
	if err != nil {
		c.log.Warn("listing users", "err", err)
		return nil
	}
	var out []Option
	for _, u := range users {
		other, ok, err := c.o.Auth.CallerByName(ctx, u.Name)
		// Neither the one handing over nor whoever holds it now.
		if err != nil || !ok || other.ID == me.ID || other.ID == a.AckedBy || !other.Sees(a.Place) {
			continue
		}
		out = append(out, Option{Value: u.Name, Text: u.Display})
	}
	return out
}

// auditWhat names an audit entry in the page's language.
func auditWhat(l, what string) string {
	zh := map[string]string{"raised": "警报产生", "raised_held": "警报产生（等待设备取消）", "repeat": "设备再次报警",
		"cancelled": "设备取消（无人被通知）", "device_cancelled": "设备按了取消（已通知过人，警报仍开着）",
		"escalation_step": "通知下一级", "notification_queued": "正在发送通知",
		"notification_sent": "已发送通知", "notification_failed": "通知失败",
		"notification_skipped": "通知跳过", "delivery_delivered": "已送达", "delivery_failed": "未送达",
		"delivery_undelivered": "未送达", "acknowledged": "已接手", "ack_refused": "接手被拒",
		"handed_over": "已转交", "resolved": "已结束", "resolve_refused": "结束被拒", "link_refused": "链接被拒",
		"grouped": "并入村级断线", "escalation_empty_step": "此级无人可通知，已再通知上一级",
		"notification_in_flight": "重启后核对短信", "refused": "操作被拒"}
	if l == langZH {
		if s, ok := zh[what]; ok {
			return s
		}
	}
	return what
}

// auditDetail is what an audit entry adds, for people: in Chinese the machine's
// details (sequence numbers, step counts, purposes) are left out, while errors and
// close notes stay; English shows them as recorded.
func (c *Console) auditDetail(ctx context.Context, l string, names *names, r alerting.AuditRow) string {
	if r.What == "handed_over" {
		if to, ok := strings.CutPrefix(r.Detail, "to "); ok {
			return tr(l, "handoverto") + " " + names.of(ctx, to)
		}
	}
	if l == langEN {
		return r.Detail
	}
	switch r.What {
	case "notification_sent", "notification_queued", "delivery_delivered":
		purpose, _, _ := strings.Cut(r.Detail, " ")
		return word(l, "purpose.", purpose)
	case "notification_failed", "notification_skipped", "delivery_failed", "delivery_undelivered":
		purpose, rest, _ := strings.Cut(r.Detail, " ")
		return strings.TrimSpace(word(l, "purpose.", purpose) + " " + rest)
	case "resolved":
		return word(l, "out.", r.Detail)
	case "repeat":
		if n, ok := alerting.OutageJoins(r.Detail); ok {
			return fmt.Sprintf("1 秒内共 %d 台设备断线", n)
		}
	case "ack_refused", "link_refused", "resolve_refused", "refused", "notification_in_flight", "escalation_empty_step":
		return r.Detail
	}
	return ""
}

// actor names who did an audit entry: a person's name, the device, or the system.
func (c *Console) actor(ctx context.Context, l string, names *names, r alerting.AuditRow) string {
	switch {
	case r.Actor == "":
		return ""
	case r.Channel == "device":
		return tr(l, "ch.device") + " " + r.Actor
	}
	return names.of(ctx, r.Actor)
}

// channel is how an audit entry came, in words; none for the device's own entries,
// whose actor already says 设备.
func (c *Console) channel(l string, r alerting.AuditRow) string {
	if r.Channel == "device" {
		return ""
	}
	return word(l, "ch.", r.Channel)
}

// word translates a recorded value (a channel, a purpose, a status) with its key
// prefix; an unknown one shows as recorded.
func word(l, prefix, v string) string {
	if v == "" {
		return ""
	}
	if w := tr(l, prefix+v); w != prefix+v {
		return w
	}
	return v
}
