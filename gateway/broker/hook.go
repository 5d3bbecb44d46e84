package broker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/brokerauth"
	"carebed/gateway/credential"
	"carebed/gateway/ingest"
	"carebed/gateway/points"
	"carebed/gateway/registry"
)

// Ingest hands messages off durably; ingest.Handler is one.
type Ingest interface {
	Handle(ctx context.Context, msgs []ingest.Message) error
}

// Devices tells whether a device is registered.
type Devices interface {
	Lookup(device string) (points.Tags, bool)
}

// Credentials finds the MQTT credentials of broker users; *registry.Store is one.
type Credentials interface {
	// Credential is one user's, for a connection.
	Credential(ctx context.Context, principal string) (registry.Credential, error)
	// Credentials are all of them, revoked ones included, for the recheck of every
	// connection.
	Credentials(ctx context.Context) ([]registry.Credential, error)
}

// hook is what the broker asks of the gateway: it authenticates devices and
// responder apps and hands their publishes and Last Wills on.
type hook struct {
	ingest          Ingest
	devices         Devices
	creds           Credentials
	allowNoPassword bool
	onResponder     func(ctx context.Context, responder string, payload []byte)
	refused         *prometheus.CounterVec
	log             *slog.Logger
	ctx             context.Context
}

// Reasons a connection is refused (label reason of carebed_broker_refused_total).
const (
	refusedUnknown      = "unknown_user"
	refusedClientID     = "client_id_mismatch"
	refusedNoCredential = "no_credential"
	refusedRevoked      = "revoked"
	refusedPassword     = "wrong_password"
	refusedRegistry     = "registry_error"
	// refusedRotated: a connected client whose credential was replaced (Recheck).
	refusedRotated = "rotated"
	// refusedWill: a Last Will on a topic the client may not publish to.
	refusedWill = "will_not_allowed"
)

// authenticate returns why user may not connect, or "" and the issue time of the
// credential it presented (zero when it may connect without one).
func (h *hook) authenticate(user, clientID, password string) (reason string, issued time.Time) {
	c, reason := h.credential(user, clientID)
	switch {
	case reason != "":
		return reason, time.Time{}
	case c.Hash != "" && !credential.Verify(c.Hash, password):
		return refusedPassword, time.Time{}
	}
	return "", c.Issued
}

// credential returns user's valid credential (none for a registered device that may
// connect without one), or why user may not connect whatever the password.
//
// Every principal's client id must be its username: MQTT allows one session per
// client id and a new connection takes it over, so a responder (or anyone) connecting
// with a device's client id would throw the device off, fire its Last Will (a false
// device_offline) and take the commands queued for it.
func (h *hook) credential(user, clientID string) (registry.Credential, string) {
	if clientID != user {
		return registry.Credential{}, refusedClientID
	}
	c, err := h.creds.Credential(h.ctx, user)
	return c, h.judge(user, c, err)
}

// judge returns why user may not connect with c, the credential the registry found
// for it (err: registry.ErrNotFound when there is none, or why it could not say).
func (h *hook) judge(user string, c registry.Credential, err error) string {
	_, isDevice := h.devices.Lookup(user)
	switch {
	case errors.Is(err, registry.ErrNotFound) && isDevice && h.allowNoPassword:
		return ""
	case errors.Is(err, registry.ErrNotFound) && isDevice:
		return refusedNoCredential
	case errors.Is(err, registry.ErrNotFound):
		return refusedUnknown
	case err != nil:
		h.log.Error("credential lookup failed", "username", user, "err", err)
		return refusedRegistry
	case c.Kind == registry.PrincipalDevice && !isDevice:
		return refusedUnknown // provisioned once, no longer registered
	case !c.Active():
		return refusedRevoked
	}
	return ""
}

// recheck returns why a connected client may no longer stay: its credential was
// revoked or replaced (rotated) since it connected (issued: the one it connected
// with), or its device was removed from the registry. creds are every credential by
// principal, read once for all clients.
func (h *hook) recheck(user string, issued time.Time, creds map[string]registry.Credential) string {
	c, found := creds[user]
	var err error
	if !found {
		err = registry.ErrNotFound
	}
	if reason := h.judge(user, c, err); reason != "" {
		return reason
	}
	if !c.Issued.Equal(issued) {
		return refusedRotated
	}
	return ""
}

// principal is the broker user of an authenticated client: a registered device, else
// a responder (nothing else gets past authenticate).
func (h *hook) principal(user string) brokerauth.Principal {
	if _, ok := h.devices.Lookup(user); ok {
		return brokerauth.Principal{Kind: brokerauth.Device, ID: user}
	}
	return brokerauth.Principal{Kind: brokerauth.Responder, ID: user}
}

// publish hands a client's message on before the broker acknowledges it: a
// device's to the ingest, durably (an error: not acknowledged, so the device sends it
// again), a responder's acknowledgement to OnResponder. The broker keeps no retained
// copy of either: no client of it may read a device's topics or a responder's
// acknowledgements, so a retained status would only be kept.
func (h *hook) publish(p brokerauth.Principal, topic string, payload []byte) error {
	if p.Kind == brokerauth.Responder {
		if h.onResponder != nil {
			h.onResponder(h.ctx, p.ID, payload)
		}
		return nil
	}
	return h.ingest.Handle(h.ctx, []ingest.Message{{Topic: topic, Payload: payload, Received: time.Now()}})
}

// willSent takes in the Last Will of a device that vanished: it says offline.
func (h *hook) willSent(p brokerauth.Principal, topic string, payload []byte) {
	if p.Kind != brokerauth.Device || !brokerauth.Allowed(p, topic, true) {
		h.log.Warn("ignored a Last Will outside the device's own topics", "client_id", p.ID, "topic", topic)
		return
	}
	msg := ingest.Message{Topic: topic, Payload: payload, Received: time.Now()}
	if err := h.ingest.Handle(h.ctx, []ingest.Message{msg}); err != nil {
		h.log.Error("hand-off of a Last Will failed", "client_id", p.ID, "err", err)
	}
}
