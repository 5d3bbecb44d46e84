// Package smssos raises an SOS for an elder whose own phone sends an SMS to the
// gateway's number: herders on summer pastures often have voice and SMS coverage but
// no data, and a feature phone is what many elders carry. The phone is registered in
// the bed ledger as a device of kind sms_phone with its own number (device_phone);
// an SMS from that number becomes an sos event of that device, taken in through the
// same ingest as the pendants' events (spool, InfluxDB, alert rules, ladder). The SMS
// may carry a position ("SOS 42.87,83.71"), which the event carries as its fix.
//
// Any text from an elder's own phone is a call for help: "救命", "SOS" and "1" are
// what the leaflet tells elders to send, but an elder who can barely type must not
// be told to try again while nobody comes. SMS from other numbers are left to the
// handlers after this one (alert replies, visit check-ins). Nothing here logs a
// phone number, a text or a position.
package smssos

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/ingest"
	"carebed/gateway/protocol"
	"carebed/gateway/registry"
)

// Phones finds the elder's phone (an sms_phone device) registered with a number.
type Phones interface {
	DeviceByPhone(ctx context.Context, phone string) (registry.Device, error)
}

// Intake takes in one device message that did not come through the broker and waits
// until it is durably stored; ingest.Handler.Offer.
type Intake interface {
	Offer(ctx context.Context, m ingest.Message) error
}

// Options configure a Handler.
type Options struct {
	Phones     Phones
	Intake     Intake
	Registerer prometheus.Registerer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Replies sent back to the elder's phone; each fits one SMS segment.
const (
	// ReplyRaised answers an SMS that raised (or repeated) an SOS.
	ReplyRaised = "【巴州家庭养老床位】已收到您的求救，正在通知探访员、村医和家人，请保持手机开机。"
	// ReplyRaisedAt answers one that carried a position.
	ReplyRaisedAt = "【巴州家庭养老床位】已收到您的求救和位置，正在通知探访员、村医和家人，请保持手机开机。"
)

// Handler is an alerting/api.Inbound for SMS from elders' own phones.
type Handler struct {
	o      Options
	log    *slog.Logger
	counts *prometheus.CounterVec
}

// Results of carebed_sms_sos_total.
const (
	resultRaised = "raised"
	resultFailed = "failed"
)

// New returns a Handler; Phones and Intake are required.
func New(o Options) *Handler {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registerer == nil {
		o.Registerer = prometheus.NewRegistry()
	}
	h := &Handler{o: o, log: o.Logger.With("component", "smssos"),
		counts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_sms_sos_total",
			Help: "SMS from elders' own phones (sms_phone) by result: raised an SOS, or failed (answered 500 for Twilio to retry).",
		}, []string{"result", "position"})}
	for _, r := range []string{resultRaised, resultFailed} {
		for _, p := range []string{"yes", "no"} {
			h.counts.WithLabelValues(r, p)
		}
	}
	o.Registerer.MustRegister(h.counts)
	return h
}

// HandleSMS implements alerting/api.Inbound: an SMS from a registered elder's phone
// raises an SOS of that phone's device and is answered; any other is not taken. An
// error (the registry or the spool failing) answers 500, so Twilio offers the SMS
// again and it is never lost.
func (h *Handler) HandleSMS(ctx context.Context, from, body string) (string, bool, error) {
	dev, err := h.o.Phones.DeviceByPhone(ctx, from)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return "", false, nil
	case err != nil:
		return "", true, err
	case !dev.SMSOnly():
		return "", false, nil
	}
	now := h.o.Now()
	fix, hasFix := ParsePosition(body)
	ev := protocol.Event{Seq: uint64(now.UnixMilli()), TS: now.UnixMilli(), Type: protocol.EventSOS}
	if hasFix {
		ev.Fix = &fix
	}
	position := "no"
	if hasFix {
		position = "yes"
	}
	err = h.o.Intake.Offer(ctx, ingest.Message{Topic: protocol.DeviceTopic(dev.ID, protocol.KindEvent), Payload: protocol.EncodeEvent(ev), Received: now})
	if err != nil {
		h.counts.WithLabelValues(resultFailed, position).Inc()
		h.log.Error("an SOS sent by SMS could not be taken in; Twilio will offer it again", "device", dev.ID, "err", err)
		return "", true, err
	}
	h.counts.WithLabelValues(resultRaised, position).Inc()
	h.log.Info("SOS by SMS taken in", "device", dev.ID, "with_position", hasFix)
	if hasFix {
		return ReplyRaisedAt, true, nil
	}
	return ReplyRaised, true, nil
}

// positionRE finds "lat,lon" in a text: two decimal numbers separated by a comma
// (ASCII or Chinese), a semicolon or spaces; at least one has a decimal point, so that
// a plain "1" or a code is never read as a position.
var positionRE = regexp.MustCompile(`(-?\d{1,3}(?:\.\d+)?)\s*[,，;；\s]\s*(-?\d{1,3}(?:\.\d+)?)`)

// metresPerDegree is the length of a degree of latitude, near enough for an accuracy.
const metresPerDegree = 111_320

// ParsePosition finds a WGS-84 "lat,lon" in an SMS ("SOS 42.87,83.71"; full-width
// digits and commas as feature phones send them in Chinese mode are read too). Its
// accuracy is what the digits can say: half the last decimal place (two decimals:
// about 560 m), at least 10 m; a position too coarse for protocol.MaxFixAccuracyM,
// out of range or 0,0 is no position. Its time is the message's.
func ParsePosition(body string) (protocol.Fix, bool) {
	m := positionRE.FindStringSubmatch(narrow(body))
	if m == nil || (!strings.Contains(m[1], ".") && !strings.Contains(m[2], ".")) {
		return protocol.Fix{}, false
	}
	lat, err1 := strconv.ParseFloat(m[1], 64)
	lon, err2 := strconv.ParseFloat(m[2], 64)
	if err1 != nil || err2 != nil || math.Abs(lat) > 90 || math.Abs(lon) > 180 || (lat == 0 && lon == 0) {
		return protocol.Fix{}, false
	}
	acc := math.Max(10, 0.5*math.Pow10(-min(decimals(m[1]), decimals(m[2])))*metresPerDegree)
	if acc > protocol.MaxFixAccuracyM {
		return protocol.Fix{}, false
	}
	return protocol.Fix{Lat: lat, Lon: lon, AccM: math.Round(acc)}, true
}

// decimals counts the digits after the decimal point of a number.
func decimals(s string) int {
	_, frac, ok := strings.Cut(s, ".")
	if !ok {
		return 0
	}
	return len(frac)
}

// narrow turns full-width ASCII (Ａ-Ｚ, ０-９, ，．) into plain ASCII.
func narrow(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0xFF01 && r <= 0xFF5E {
			return r - 0xFEE0
		}
		if r == '\u3000' {
			return ' '
		}
		return r
	}, s)
}
