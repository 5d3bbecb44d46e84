// Package brokerstats exports what Mosquitto says of itself on its $SYS topics
// (brokerauth.BrokerStats): the messages it dropped because a client's queue was
// full, which were acknowledged to their devices and are lost, and the messages it
// holds. Other brokers publish nothing there and the series stay at 0.
package brokerstats

import (
	"math"
	"strconv"
	"strings"
	"sync/atomic"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"

	"carebed/gateway/brokerauth"
)

// Prefix starts every topic of the statistics.
const Prefix = "$SYS/"

// Stats keeps the last value of each statistic, as float64 bits.
type Stats struct {
	dropped, stored atomic.Uint64
}

// New registers the statistics' series with reg.
func New(reg prometheus.Registerer) *Stats {
	s := &Stats{}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "carebed_broker_dropped_messages_total",
			Help: "Messages Mosquitto dropped because a client's queue was full, as it reports them " +
				"($SYS, every sys_interval; from 0 again when it restarts). Each was acknowledged to its device and is lost."},
			func() float64 { return math.Float64frombits(s.dropped.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "carebed_broker_stored_messages",
			Help: "Messages Mosquitto holds, queued or in flight, as it reports them ($SYS)."},
			func() float64 { return math.Float64frombits(s.stored.Load()) }))
	return s
}

// Filters are the subscriptions for the statistics: QoS 0, Mosquitto's own.
func Filters() map[string]byte {
	f := make(map[string]byte, len(brokerauth.BrokerStats))
	for _, t := range brokerauth.BrokerStats {
		f[t] = 0
	}
	return f
}

// Take keeps one statistic from its $SYS message.
func (s *Stats) Take(m mqtt.Message) {
	s.Keep(m.Topic(), m.Payload())
	m.Ack()
}

// Keep keeps the value of one statistic; other topics and values that are not
// numbers are ignored.
func (s *Stats) Keep(topic string, payload []byte) {
	v, err := strconv.ParseFloat(strings.TrimSpace(string(payload)), 64)
	if err != nil {
		return
	}
	switch topic {
	case brokerauth.StatDropped:
		s.dropped.Store(math.Float64bits(v))
	case brokerauth.StatStored:
		s.stored.Store(math.Float64bits(v))
	}
}
