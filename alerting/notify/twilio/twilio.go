// Package twilio sends SMS through Twilio's Messages API with the official
// twilio-go client, and checks and parses the webhooks Twilio posts back: SMS
// replies (acknowledgements) and delivery status callbacks.
//
// twilio-go has no base-URL option, takes no context and never retries. Notify
// therefore gives the client, per call, an HTTP client whose transport binds the
// request to Notify's context, sends it to Options.BaseURL instead of
// api.twilio.com when they differ, and records the HTTP status so that errors are
// classified even when Twilio's answer is not Twilio's JSON (a proxy's 502 page).
package twilio

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"carebed/alerting/notify"
)

// Defaults for Options.
const (
	DefaultBaseURL = "https://api.twilio.com"
	DefaultTimeout = 10 * time.Second
)

// Options configures a Notifier.
type Options struct {
	// AccountSID ("AC" and 32 hex digits) and AuthToken are the account's
	// credentials; both are required.
	AccountSID string
	AuthToken  string
	// From is the sending number in E.164 form, e.g. "+15005550006"; required.
	From string
	// BaseURL is scheme and host of the API (default DefaultBaseURL); tests point
	// it at an httptest server. It must not have a path.
	BaseURL string
	// StatusCallbackURL, if set, is where Twilio posts delivery status callbacks
	// for every message sent (the public URL, as VerifyRequest must see it).
	StatusCallbackURL string
	// HTTPClient supplies the Transport, CheckRedirect and Jar to use (default:
	// http.DefaultTransport, redirects not followed). Its Timeout is ignored.
	HTTPClient *http.Client
	// Timeout bounds one Notify call (default DefaultTimeout).
	Timeout time.Duration
}

// Notifier sends SMS through Twilio. It is safe for concurrent use.
type Notifier struct {
	o      Options
	target *url.URL // BaseURL when it is not DefaultBaseURL, else nil
	base   *http.Client
}

var _ notify.Notifier = (*Notifier)(nil)

var (
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	alphanumeric      = regexp.MustCompile(`^[a-zA-Z0-9]+$`)
)

// New validates o and returns a Notifier. It does not contact Twilio. Its errors
// name the offending field and never contain the auth token.
func New(o Options) (*Notifier, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	nf := &Notifier{o: o, base: o.HTTPClient}
	if o.BaseURL != DefaultBaseURL {
		nf.target, _ = url.Parse(o.BaseURL) // validated
	}
	if nf.base == nil {
		nf.base = &http.Client{}
	}
	return nf, nil
}

func (o *Options) validate() error {
	if o.BaseURL == "" {
		o.BaseURL = DefaultBaseURL
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	switch {
	case o.AccountSID == "":
		return errors.New("twilio: AccountSID is required")
	case !accountSIDPattern.MatchString(o.AccountSID):
		return errors.New(`twilio: AccountSID must be "AC" and 32 hex digits`)
	case o.AuthToken == "":
		return errors.New("twilio: AuthToken is required")
	case !alphanumeric.MatchString(o.AuthToken):
		return errors.New("twilio: AuthToken must be letters and digits only")
	case o.From == "":
		return errors.New("twilio: From is required")
	case o.Timeout < 0:
		return fmt.Errorf("twilio: Timeout %v is negative", o.Timeout)
	}
	if err := checkURL(o.BaseURL, true); err != nil {
		return fmt.Errorf("twilio: BaseURL: %w", err)
	}
	if o.StatusCallbackURL != "" {
		if err := checkURL(o.StatusCallbackURL, false); err != nil {
			return fmt.Errorf("twilio: StatusCallbackURL: %w", err)
		}
	}
	return nil
}

// checkURL accepts absolute http(s) URLs; hostOnly also rejects a path or query.
func checkURL(s string, hostOnly bool) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http or https URL", s)
	}
	if hostOnly && ((u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil) {
		return fmt.Errorf("%q must be scheme and host only", s)
	}
	return nil
}

// Notify sends n.Text to n.To.Phone as one SMS and returns Twilio's message SID
// and status ("queued", usually). It makes one request. Errors: notify.ErrNoAddress
// for a person without a phone number; *APIError for an HTTP error answer
// (retried for 5xx, 429 and 408, not for other codes such as 400 with Twilio code
// 21211, invalid number); transport errors, retried.
func (nf *Notifier) Notify(ctx context.Context, n notify.Notification) (notify.Receipt, bool, error) {
	if n.To.Phone == "" {
		return notify.Receipt{}, false, fmt.Errorf("twilio: %w", notify.ErrNoAddress)
	}
	ctx, cancel := context.WithTimeout(ctx, nf.o.Timeout)
	defer cancel()
	at := &attempt{ctx: ctx, target: nf.target, base: nf.base.Transport}
	params := (&openapi.CreateMessageParams{}).SetTo(n.To.Phone).SetFrom(nf.o.From).SetBody(n.Text)
	if nf.o.StatusCallbackURL != "" {
		params.SetStatusCallback(nf.o.StatusCallbackURL)
	}
	msg, err := nf.api(at).CreateMessage(params)
	return classify(msg, err, at)
}

// api returns a twilio-go API service whose requests go through at. It is cheap:
// a few small structs per call.
func (nf *Notifier) api(at *attempt) *openapi.ApiService {
	hc := &http.Client{Transport: at, Jar: nf.base.Jar, CheckRedirect: nf.base.CheckRedirect}
	if hc.CheckRedirect == nil {
		hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	c := &client.Client{Credentials: client.NewCredentials(nf.o.AccountSID, nf.o.AuthToken), HTTPClient: hc}
	c.SetAccountSid(nf.o.AccountSID)
	return openapi.NewApiServiceWithClient(c)
}
