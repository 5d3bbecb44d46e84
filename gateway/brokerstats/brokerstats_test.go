package brokerstats

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"carebed/gateway/brokerauth"
)

func TestKeepsTheLastValueOfEachStatistic(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(reg)
	for _, m := range []struct{ topic, payload string }{
		{brokerauth.StatDropped, "12"},
		{brokerauth.StatDropped, " 30\n"},
		{brokerauth.StatStored, "7"},
		{brokerauth.StatStored, "not a number"}, // ignored
		{"$SYS/broker/uptime", "99"},            // not one of ours
	} {
		s.Keep(m.topic, []byte(m.payload))
	}
	for name, want := range map[string]float64{"carebed_broker_dropped_messages_total": 30, "carebed_broker_stored_messages": 7} {
		got, err := testutil.GatherAndCount(reg, name)
		if err != nil || got != 1 {
			t.Fatalf("%s: %d series, %v", name, got, err)
		}
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			m := mf.GetMetric()[0]
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			if v != want {
				t.Errorf("%s = %v, want %v", name, v, want)
			}
		}
	}
	if f := Filters(); len(f) != len(brokerauth.BrokerStats) || f[brokerauth.StatDropped] != 0 {
		t.Errorf("filters %v: want every statistic at QoS 0", f)
	}
}
