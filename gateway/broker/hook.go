package broker

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
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

// hook authenticates devices and responder apps, enforces the topic rules of package
// brokerauth and hands devices' publishes to the ingest before mochi writes the PUBACK.
type hook struct {
	mqtt.HookBase
	ingest          Ingest
	devices         Devices
	creds           Credentials
	allowNoPassword bool
	onResponder     func(ctx context.Context, responder string, payload []byte)
	refused         *prometheus.CounterVec
	log             *slog.Logger
	ctx             context.Context
	// issued holds, per connected client, the issue time of the credential it
	// connected with (zero: none), so Recheck can tell a replaced one.
	issued sync.Map // *mqtt.Client -> time.Time
}

// ID names the hook.
func (h *hook) ID() string { return "carebed-devices" }

// Provides lists the events the hook handles.
func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnDisconnect, mqtt.OnACLCheck, mqtt.OnPublish,
		mqtt.OnWill, mqtt.OnWillSent}, []byte{b})
}

// OnConnectAuthenticate lets in registered devices and responder apps whose password
// matches their provisioned credential, each only with its username as client id.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	reason, issued := h.authenticate(user, cl.ID, string(pk.Connect.Password))
	if reason != "" {
		h.refused.WithLabelValues(reason).Inc()
		h.log.Warn("refused a connection", "reason", reason, "client_id", cl.ID, "username", user, "remote", cl.Net.Remote)
		return false
	}
	h.issued.Store(cl, issued)
	if gc, ok := cl.Net.Conn.(*guardedConn); ok {
		gc.g.connected(gc) // no longer counted as connecting
	}
	return true
}

// OnDisconnect forgets the client's credential.
func (h *hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) { h.issued.Delete(cl) }

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
// revoked or replaced (rotated) since it connected, or its device was removed from
// the registry. creds are every credential by principal, read once for all clients.
func (h *hook) recheck(cl *mqtt.Client, creds map[string]registry.Credential) string {
	v, ok := h.issued.Load(cl)
	if !ok {
		return "" // connected before this hook knew it (not through OnConnectAuthenticate)
	}
	user := string(cl.Properties.Username) // its client id too: OnConnectAuthenticate
	c, found := creds[user]
	var err error
	if !found {
		err = registry.ErrNotFound
	}
	if reason := h.judge(user, c, err); reason != "" {
		return reason
	}
	if !c.Issued.Equal(v.(time.Time)) {
		return refusedRotated
	}
	return ""
}

// principal is the broker user of an authenticated client: a registered device, else
// a responder (nothing else gets past OnConnectAuthenticate).
func (h *hook) principal(cl *mqtt.Client) brokerauth.Principal {
	user := string(cl.Properties.Username)
	if _, ok := h.devices.Lookup(user); ok {
		return brokerauth.Principal{Kind: brokerauth.Device, ID: user}
	}
	return brokerauth.Principal{Kind: brokerauth.Responder, ID: user}
}

// OnACLCheck applies the rules of package brokerauth.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	return brokerauth.Allowed(h.principal(cl), topic, write)
}

// OnPublish hands a device's message off before mochi acknowledges it. When the
// hand-off fails the packet is rejected without a PUBACK, so the device resends it.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil // the gateway's own messages (cmd) are not device input
	}
	if p := h.principal(cl); p.Kind == brokerauth.Responder {
		if h.onResponder != nil {
			h.onResponder(h.ctx, p.ID, pk.Payload)
		}
		return pk, nil
	}
	msg := ingest.Message{Topic: pk.TopicName, Payload: pk.Payload, Received: time.Now()}
	if err := h.ingest.Handle(h.ctx, []ingest.Message{msg}); err != nil {
		h.log.Error("hand-off failed; publish not acknowledged", "client_id", cl.ID, "err", err)
		return pk, packets.ErrRejectPacket
	}
	pk.FixedHeader.Retain = false // see OnWill
	return pk, nil
}

// OnWill keeps a client's Last Will from being retained, as OnPublish keeps a
// device's retained status: no client of this broker may read a device's topics or a
// responder's acknowledgements (the gateway takes them in through this hook), so a
// retained copy would only be kept, and swept by mochi every second (a township's
// 15,000 statuses: a tenth of the broker's CPU in a reconnect storm).
func (h *hook) OnWill(_ *mqtt.Client, will mqtt.Will) (mqtt.Will, error) {
	will.Retain = false
	return will, nil
}

// OnWillSent takes in the Last Will of a device that vanished: it says offline.
func (h *hook) OnWillSent(cl *mqtt.Client, pk packets.Packet) {
	if p := h.principal(cl); p.Kind != brokerauth.Device || !brokerauth.Allowed(p, pk.TopicName, true) {
		h.log.Warn("ignored a Last Will outside the device's own topics", "client_id", cl.ID, "topic", pk.TopicName)
		return
	}
	msg := ingest.Message{Topic: pk.TopicName, Payload: pk.Payload, Received: time.Now()}
	if err := h.ingest.Handle(h.ctx, []ingest.Message{msg}); err != nil {
		h.log.Error("hand-off of a Last Will failed", "client_id", cl.ID, "err", err)
	}
}
