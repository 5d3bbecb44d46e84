// Package provision issues, rotates and revokes the MQTT credentials of devices and
// responder apps, and gathers the broker users that `gateway broker export` writes
// for Mosquitto. Passwords are shown once, when issued; the registry keeps only their
// hashes (package credential).
package provision

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"carebed/gateway/brokerauth"
	"carebed/gateway/credential"
	"carebed/gateway/registry"
)

// Issued is one new credential: what the installer flashes into a device or gives
// to a responder with the app.
type Issued struct {
	Kind     string // registry.PrincipalDevice or registry.PrincipalResponder
	Username string
	Password string
	// Phone is the responder's phone (whom to hand the login to); empty for devices.
	Phone string
}

// Options choose what Devices and Responders issue.
type Options struct {
	// IDs limits issuing to these usernames; empty: every one of the kind.
	IDs []string
	// Rotate issues new passwords also to those that have one, which stops the old
	// ones from working. Without it only those without a valid credential get one.
	Rotate bool
	Now    time.Time
}

// Devices issues credentials to registered devices.
func Devices(ctx context.Context, reg *registry.Store, o Options) ([]Issued, error) {
	devs, err := reg.Devices(ctx)
	if err != nil {
		return nil, err
	}
	known := make(map[string]string, len(devs))
	for _, d := range devs {
		if !d.SMSOnly() { // an elder's own phone sends SMS, never MQTT
			known[d.ID] = ""
		} else if slices.Contains(o.IDs, d.ID) {
			return nil, fmt.Errorf("%s is an elder's own phone (sms_phone): it sends SMS and needs no MQTT credentials", d.ID)
		}
	}
	return issue(ctx, reg, registry.PrincipalDevice, known, o)
}

// Responders issues credentials to responder apps: one per phone number in the
// registry (home contacts and township clinics), under the phone's random id
// (registry.Store.ResponderID). With Rotate and no IDs, the ids kept from before
// ids were random (legacy, derivable from the phone) are retired first: their
// logins stop working and every responder gets a new id and password.
func Responders(ctx context.Context, reg *registry.Store, o Options) ([]Issued, error) {
	if o.Rotate && len(o.IDs) == 0 {
		if _, err := reg.RetireLegacyResponderIDs(ctx, o.Now); err != nil {
			return nil, err
		}
	}
	phones, err := responderPhones(ctx, reg)
	if err != nil {
		return nil, err
	}
	return issue(ctx, reg, registry.PrincipalResponder, phones, o)
}

// responderPhones maps responder ids to their phones.
func responderPhones(ctx context.Context, reg *registry.Store) (map[string]string, error) {
	cs, err := reg.AllContacts(ctx)
	if err != nil {
		return nil, err
	}
	ts, err := reg.ClinicTownships(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(cs)+len(ts))
	phones := make([]string, 0, len(cs)+len(ts))
	for _, c := range cs {
		phones = append(phones, c.Phone)
	}
	for _, t := range ts {
		phones = append(phones, t.ClinicPhone)
	}
	for _, phone := range phones {
		id, err := reg.ResponderID(ctx, phone)
		if err != nil {
			return nil, err
		}
		out[id] = phone
	}
	return out, nil
}

// issue gives new passwords to the principals of known (username -> phone) that o
// selects.
func issue(ctx context.Context, reg *registry.Store, kind string, known map[string]string, o Options) ([]Issued, error) {
	ids, err := selectIDs(known, o.IDs)
	if err != nil {
		return nil, err
	}
	var out []Issued
	for _, id := range ids {
		has, err := hasValid(ctx, reg, id, kind)
		if err != nil {
			return out, err
		}
		if has && !o.Rotate {
			continue
		}
		pw := credential.NewPassword()
		c := registry.Credential{Principal: id, Kind: kind, Hash: credential.Hash(pw), Issued: o.Now}
		if err := reg.SetCredential(ctx, c); err != nil {
			return out, err
		}
		out = append(out, Issued{Kind: kind, Username: id, Password: pw, Phone: known[id]})
	}
	return out, nil
}

func selectIDs(known map[string]string, want []string) ([]string, error) {
	if len(want) == 0 {
		for id := range known {
			want = append(want, id)
		}
	}
	for _, id := range want {
		if _, ok := known[id]; !ok {
			return nil, fmt.Errorf("%s is not registered", id)
		}
	}
	sort.Strings(want)
	return want, nil
}

// hasValid reports whether id has an unrevoked credential of kind; one of another
// kind is an error (a device id that equals a responder id).
func hasValid(ctx context.Context, reg *registry.Store, id, kind string) (bool, error) {
	c, err := reg.Credential(ctx, id)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case c.Kind != kind:
		return false, fmt.Errorf("%s already holds a %s credential", id, c.Kind)
	}
	return c.Active(), nil
}

// Revoke revokes the credentials of the given usernames.
func Revoke(ctx context.Context, reg *registry.Store, ids []string, now time.Time) error {
	for _, id := range ids {
		if err := reg.RevokeCredential(ctx, id, now); err != nil {
			return err
		}
	}
	return nil
}

// WriteCSV writes issued credentials as CSV: kind,username,password,phone.
func WriteCSV(w io.Writer, issued []Issued) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"kind", "username", "password", "phone"}) //nolint:errcheck // Flush reports it
	for _, i := range issued {
		cw.Write([]string{i.Kind, i.Username, i.Password, i.Phone}) //nolint:errcheck // Flush reports it
	}
	cw.Flush()
	return cw.Error()
}

// BrokerUsers returns every broker user for the export: devices still registered and
// responders with a valid credential, and the gateway's own user with the hash of
// its configured password.
func BrokerUsers(ctx context.Context, reg *registry.Store, gatewayUser, gatewayPassword string) ([]brokerauth.Principal, error) {
	if gatewayUser == "" || gatewayPassword == "" {
		return nil, errors.New("mqtt.username and mqtt.password (or CAREBED_MQTT_USERNAME and CAREBED_MQTT_PASSWORD) " +
			"must be set: the gateway's own broker user goes into the export")
	}
	creds, err := reg.Credentials(ctx)
	if err != nil {
		return nil, err
	}
	devs, err := reg.Devices(ctx)
	if err != nil {
		return nil, err
	}
	registered := make(map[string]bool, len(devs))
	for _, d := range devs {
		registered[d.ID] = !d.SMSOnly()
	}
	out := []brokerauth.Principal{{Kind: brokerauth.Gateway, ID: gatewayUser, Hash: credential.Hash(gatewayPassword)},
		{Kind: brokerauth.GatewayAlarms, ID: brokerauth.AlarmUser(gatewayUser), Hash: credential.Hash(gatewayPassword)}}
	for _, c := range creds {
		switch {
		case !c.Active():
		case c.Kind == registry.PrincipalDevice && registered[c.Principal]:
			out = append(out, brokerauth.Principal{Kind: brokerauth.Device, ID: c.Principal, Hash: c.Hash})
		case c.Kind == registry.PrincipalResponder:
			out = append(out, brokerauth.Principal{Kind: brokerauth.Responder, ID: c.Principal, Hash: c.Hash})
		}
	}
	return out, nil
}
