package broker

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
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

// Credentials finds the MQTT credential of a broker user; *registry.Store is one.
type Credentials interface {
	Credential(ctx context.Context, principal string) (registry.Credential, error)
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
}

// ID names the hook.
func (h *hook) ID() string { return "carebed-devices" }

// Provides lists the events the hook handles.
func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnWillSent}, []byte{b})
}

// OnConnectAuthenticate lets in registered devices (client id = username = device id)
// and responder apps whose password matches their provisioned credential.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	reason := h.authenticate(user, cl.ID, string(pk.Connect.Password))
	if reason != "" {
		h.refused.WithLabelValues(reason).Inc()
		h.log.Warn("refused a connection", "reason", reason, "client_id", cl.ID, "username", user, "remote", cl.Net.Remote)
		return false
	}
	return true
}

// Reasons a connection is refused (label reason of carebed_broker_refused_total).
const (
	refusedUnknown      = "unknown_user"
	refusedClientID     = "client_id_mismatch"
	refusedNoCredential = "no_credential"
	refusedRevoked      = "revoked"
	refusedPassword     = "wrong_password"
	refusedRegistry     = "registry_error"
)

// authenticate returns why user may not connect, or "" when it may.
func (h *hook) authenticate(user, clientID, password string) string {
	_, isDevice := h.devices.Lookup(user)
	if isDevice && clientID != user {
		return refusedClientID
	}
	c, err := h.creds.Credential(h.ctx, user)
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
	case !credential.Verify(c.Hash, password):
		return refusedPassword
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
	return pk, nil
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
