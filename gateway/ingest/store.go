package ingest

import (
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
)

// nopStore is a paho Store that keeps nothing. The subscriber sends no QoS 1
// messages of its own whose resending the store would serve, and the inbound ones it
// would record are the broker's to redeliver: a message not acknowledged comes again
// in the next session. Keeping them would cost a map write and delete per message.
type nopStore struct{}

var _ mqtt.Store = nopStore{}

func (nopStore) Open()                             {}
func (nopStore) Put(string, packets.ControlPacket) {}
func (nopStore) Get(string) packets.ControlPacket  { return nil }
func (nopStore) All() []string                     { return nil }
func (nopStore) Del(string)                        {}
func (nopStore) Close()                            {}
func (nopStore) Reset()                            {}
