package broker

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"carebed/gateway/ingest"
	"carebed/gateway/points"
	"carebed/gateway/protocol"
)

// Ingest hands messages off durably; ingest.Handler is one.
type Ingest interface {
	Handle(ctx context.Context, msgs []ingest.Message) error
}

// Devices tells whether a device is registered.
type Devices interface {
	Lookup(device string) (points.Tags, bool)
}

// hook authenticates devices, enforces their topic ACL and hands their publishes to
// the ingest before mochi writes the PUBACK.
type hook struct {
	mqtt.HookBase
	ingest  Ingest
	devices Devices
	log     *slog.Logger
	ctx     context.Context
}

// ID names the hook.
func (h *hook) ID() string { return "carebed-devices" }

// Provides lists the events the hook handles.
func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnWillSent}, []byte{b})
}

// OnConnectAuthenticate lets in registered devices whose client id is their id.
// Passwords are checked once devices are provisioned with credentials.
func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	if _, ok := h.devices.Lookup(user); !ok || cl.ID != user {
		h.log.Warn("refused a connection", "client_id", cl.ID, "username", user, "remote", cl.Net.Remote)
		return false
	}
	return true
}

// OnACLCheck allows a device to write its own telemetry, event and status topics and
// to read its own cmd topic, nothing else.
func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	return allowed(string(cl.Properties.Username), topic, write)
}

func allowed(device, topic string, write bool) bool {
	rest, ok := strings.CutPrefix(topic, protocol.Prefix+device+"/")
	if !ok || device == "" {
		return false
	}
	if write {
		return rest == string(protocol.KindTelemetry) || rest == string(protocol.KindEvent) || rest == string(protocol.KindStatus)
	}
	return rest == string(protocol.KindCmd)
}

// OnPublish hands a device's message off before mochi acknowledges it. When the
// hand-off fails the packet is rejected without a PUBACK, so the device resends it.
func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil // the gateway's own messages (cmd) are not device input
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
	if !allowed(string(cl.Properties.Username), pk.TopicName, true) {
		h.log.Warn("ignored a Last Will outside the device's own topics", "client_id", cl.ID, "topic", pk.TopicName)
		return
	}
	msg := ingest.Message{Topic: pk.TopicName, Payload: pk.Payload, Received: time.Now()}
	if err := h.ingest.Handle(h.ctx, []ingest.Message{msg}); err != nil {
		h.log.Error("hand-off of a Last Will failed", "client_id", cl.ID, "err", err)
	}
}
