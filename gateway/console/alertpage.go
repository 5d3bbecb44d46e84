package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
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
		CanHandOver: a.State == alerting.StateAcknowledged}
	if h, err := c.o.Homes.Home(ctx, a.Place.Home); err == nil {
		data.Home = h
		if h.Lat != 0 || h.Lon != 0 {
			data.MapURL = fmt.Sprintf("geo:%.5f,%.5f", h.Lat, h.Lon)
		}
	}
	for _, r := range d.Audit {
		data.Timeline = append(data.Timeline, Entry{Time: c.clock(r.At), What: auditWhat(q.lang, r.What),
			Who: names.of(ctx, r.Actor), Channel: r.Channel, Detail: r.Detail})
	}
	for _, n := range d.Notifications {
		data.Notifications = append(data.Notifications, Notice{Time: c.clock(n.CreatedAt), To: names.of(ctx, n.PersonID),
			Channel: n.Channel, Purpose: n.Purpose, Status: n.Status})
	}
	data.Readings = c.readings(ctx, a.Place.Home)
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

// readings are the home's telemetry of the last hour, newest first.
func (c *Console) readings(ctx context.Context, home string) []Reading {
	if c.o.Readings == nil {
		return nil
	}
	rows, err := c.o.Readings.Recent(ctx, home, time.Hour, 20)
	if err != nil {
		c.log.Warn("recent readings unavailable", "home", home, "err", err)
		return nil
	}
	out := make([]Reading, 0, len(rows))
	for _, r := range rows {
		out = append(out, Reading{Time: c.clock(r.Time), Device: text(r.Values["device"]), HR: text(r.Values["hr"]),
			RR: text(r.Values["rr"]), Occupied: text(r.Values["occupied"]), Battery: text(r.Values["battery"])})
	}
	return out
}

func text(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "✓"
		}
		return "–"
	default:
		return fmt.Sprint(x)
	}
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
		if err != nil || !ok || other.ID == me.ID || !other.Sees(a.Place) {
			continue
		}
		out = append(out, Option{Value: u.Name, Text: u.Display})
	}
	return out
}

// auditWhat names an audit entry in the page's language.
func auditWhat(l, what string) string {
	zh := map[string]string{"raised": "警报产生", "repeat": "设备再次报警", "cancelled": "设备取消",
		"escalation_step": "升级通知", "notification_sent": "已发送通知", "notification_failed": "通知失败",
		"notification_skipped": "通知跳过", "delivery_delivered": "已送达", "delivery_failed": "未送达",
		"delivery_undelivered": "未送达", "acknowledged": "已接手", "ack_refused": "接手被拒",
		"handed_over": "已转交", "resolved": "已结束", "resolve_refused": "结束被拒", "link_refused": "链接被拒",
		"grouped": "并入村级断线", "escalation_empty_step": "此级无人可通知，已再通知上一级",
		"notification_in_flight": "重启后核对短信"}
	if l == langZH {
		if s, ok := zh[what]; ok {
			return s
		}
	}
	return what
}
