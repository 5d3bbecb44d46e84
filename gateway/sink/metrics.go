package sink

import (
	"errors"
	"strconv"
	"time"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the InfluxDB writer's Prometheus collectors.
type Metrics struct {
	batches  *prometheus.CounterVec
	points   prometheus.Counter
	errors   *prometheus.CounterVec
	duration prometheus.Histogram
	rejected prometheus.Counter
	shipLag  prometheus.Histogram
	lastOK   prometheus.Gauge
}

// NewMetrics registers the writer metrics with reg (nil: a private registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_influx_write_batches_total", Help: "InfluxDB write requests, by result (ok, error).",
		}, []string{"result"}),
		points: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carebed_influx_points_written_total", Help: "Points InfluxDB accepted.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carebed_influx_write_errors_total",
			Help: "Failed InfluxDB writes, by HTTP status (0: no answer).",
		}, []string{"status"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "carebed_influx_write_duration_seconds", Help: "Duration of InfluxDB write requests.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "carebed_influx_points_rejected_total",
			Help: "Spool records InfluxDB refused as malformed; each is in the dead-letter log.",
		}),
		shipLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "carebed_influx_ship_lag_seconds", Help: "Age of the oldest record of a batch when InfluxDB accepted it.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 16),
		}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "carebed_influx_last_success_timestamp_seconds", Help: "Unix time of the last accepted write.",
		}),
	}
	reg.MustRegister(m.batches, m.points, m.errors, m.duration, m.rejected, m.shipLag, m.lastOK)
	return m
}

func (m *Metrics) observe(start, end time.Time, points int, err error) {
	m.duration.Observe(end.Sub(start).Seconds())
	if err == nil {
		m.batches.WithLabelValues("ok").Inc()
		m.points.Add(float64(points))
		m.lastOK.Set(float64(end.UnixNano()) / 1e9)
		return
	}
	m.batches.WithLabelValues("error").Inc()
	status := 0
	var he *influxhttp.Error
	if errors.As(err, &he) {
		status = he.StatusCode
	}
	m.errors.WithLabelValues(strconv.Itoa(status)).Inc()
}
