// Package smsphone simulates an elder's feature phone without mobile data (手机,
// ledger kind sms_phone): it never connects by MQTT; to call for help the elder
// sends a plain SMS ("救命", "SOS", or "SOS 42.87,83.71" with a position) to the
// gateway's number. The simulator plays Twilio's part too: the SMS arrives at the
// gateway as Twilio's inbound-SMS webhook, POST /webhooks/twilio/sms, form-encoded
// and signed with X-Twilio-Signature as Twilio signs it (HMAC-SHA1 of the public URL
// followed by the parameters sorted by name, keyed with the account's auth token).
package smsphone

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"carebed/alerting/notify/twilio"
)

// Webhook is the gateway's inbound-SMS webhook as configured in Twilio.
type Webhook struct {
	// URL is the webhook's public URL, e.g. https://carebed.example.cn/webhooks/twilio/sms
	// (the gateway's twilio.public_url + /webhooks/twilio/sms): the phone's SMS are
	// posted to it and signed for it.
	URL string
	// AuthToken is the Twilio account's auth token (the gateway's twilio.auth_token).
	AuthToken string
	// To is the gateway's Twilio number, E.164 (default DefaultTo).
	To string
	// AccountSID is the account the SMS arrives on (default a fake AC… id).
	AccountSID string
	// Client posts the webhook (default: an http.Client with a 10 s timeout).
	Client *http.Client
}

// DefaultTo is the gateway number the phone texts when Webhook.To is empty.
const DefaultTo = "+8610690000000"

const defaultAccountSID = "AC00000000000000000000000000000000"

// Check reports what is missing for the phone to send.
func (w Webhook) Check() error {
	u, err := url.Parse(w.URL)
	switch {
	case w.URL == "":
		return errors.New("smsphone: no webhook URL (firmware-sim -sms-webhook)")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return fmt.Errorf("smsphone: webhook URL %q is not http(s)://host/path", w.URL)
	case w.AuthToken == "":
		return errors.New("smsphone: no Twilio auth token to sign with (firmware-sim -twilio-token)")
	}
	return nil
}

// Phone is one SMS-only phone.
type Phone struct {
	// Number is the phone's own number, E.164 (the ledger's device_phone, 设备电话).
	Number string
	// ID and Home are its ledger row's device id and home, for logs and reports.
	ID, Home string

	hook Webhook
	log  *slog.Logger
	mu   sync.Mutex
	rng  *rand.Rand
	sent []Sent
}

// Sent is one SMS the phone sent.
type Sent struct {
	At         time.Time
	Body       string
	MessageSID string
	// Status is the gateway's HTTP answer (0 when it could not be reached).
	Status int
}

// New returns the phone of a ledger row: number is its device_phone, as the ledger
// writes it (13800000021, +8613800000021, 138 0000 0021). seed makes the message
// ids repeatable.
func New(id, home, number string, hook Webhook, seed uint64, log *slog.Logger) (*Phone, error) {
	n, err := E164(number)
	if err != nil {
		return nil, fmt.Errorf("smsphone: %s: %w", id, err)
	}
	if hook.To == "" {
		hook.To = DefaultTo
	}
	if hook.AccountSID == "" {
		hook.AccountSID = defaultAccountSID
	}
	if hook.Client == nil {
		hook.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := fnv.New64a()
	h.Write([]byte(id))
	return &Phone{Number: n, ID: id, Home: home, hook: hook, rng: rand.New(rand.NewPCG(seed, h.Sum64())),
		log: log.With("device", id, "home", home)}, nil
}

var (
	separators = strings.NewReplacer(" ", "", "-", "")
	chinaPhone = regexp.MustCompile(`^(?:\+?86)?(1\d{10})$`)
	e164       = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)
)

// E164 writes a phone number as E.164: a Chinese mobile number (11 digits starting
// with 1, with or without 86) becomes +86…; a number already in E.164 stays.
func E164(s string) (string, error) {
	s = separators.Replace(strings.TrimSpace(s))
	if m := chinaPhone.FindStringSubmatch(s); m != nil {
		return "+86" + m[1], nil
	}
	if e164.MatchString(s) {
		return s, nil
	}
	return "", fmt.Errorf("%q is not a phone number (a Chinese mobile number or +country…)", s)
}

// Send sends body as an SMS to the gateway's number at the simulated time at: the
// webhook Twilio would post for it. An error when the gateway cannot be reached or
// does not answer 2xx (it answers 403 to a bad signature).
func (p *Phone) Send(ctx context.Context, at time.Time, body string) (Sent, error) {
	if err := p.hook.Check(); err != nil {
		return Sent{}, err
	}
	p.mu.Lock()
	sid := fmt.Sprintf("SM%016x%016x", p.rng.Uint64(), p.rng.Uint64())
	p.mu.Unlock()
	form := p.form(sid, body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.hook.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return Sent{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set(twilio.SignatureHeader, twilio.Sign(p.hook.URL, p.hook.AuthToken, form))
	s := Sent{At: at, Body: body, MessageSID: sid}
	resp, err := p.hook.Client.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		s.Status = resp.StatusCode
		if resp.StatusCode/100 != 2 {
			err = fmt.Errorf("smsphone: the gateway answered %s", resp.Status)
		}
	}
	p.mu.Lock()
	p.sent = append(p.sent, s)
	p.mu.Unlock()
	// The number and the text are personal data (a position, a cry for help): the
	// log names the device and the message id only.
	p.log.Info("sms sent", "sid", sid, "status", s.Status, "err", err)
	return s, err
}

// form is the webhook's parameters, as Twilio posts them for an inbound SMS.
func (p *Phone) form(sid, body string) url.Values {
	return url.Values{
		"ToCountry": {"CN"}, "ToState": {""}, "SmsMessageSid": {sid}, "NumMedia": {"0"}, "ToCity": {""},
		"FromZip": {""}, "SmsSid": {sid}, "FromState": {""}, "SmsStatus": {"received"}, "FromCity": {""},
		"Body": {body}, "FromCountry": {country(p.Number)}, "To": {p.hook.To}, "ToZip": {""}, "NumSegments": {"1"},
		"MessageSid": {sid}, "AccountSid": {p.hook.AccountSID}, "From": {p.Number}, "ApiVersion": {"2010-04-01"},
	}
}

func country(n string) string {
	if strings.HasPrefix(n, "+86") {
		return "CN"
	}
	return ""
}

// Sent returns the SMS the phone sent so far.
func (p *Phone) Sent() []Sent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Sent(nil), p.sent...)
}
