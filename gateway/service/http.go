package service

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// routes serves the operations endpoints.
func (g *Gateway) routes(gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", g.serveReady)
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	g.auth.Register(mux)
	g.console.Register(mux)
	g.visitsPage.Register(mux)
	g.inspectPage.Register(mux)
	g.reportPage.Register(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	})
	g.alertAPI.Register(mux)
	if g.cfg.HTTP.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	return g.standbyWrites(mux)
}

// Readiness is the answer of /readyz.
type Readiness struct {
	Ready bool `json:"ready"`
	// Active is false on the standby of a pair (config pair.enabled), which is then
	// not ready: a load balancer, and Twilio's webhooks behind it, go to the active
	// one. Always true outside the pair mode.
	Active bool `json:"active"`
	// MQTT is true when the broker session is up (or the embedded broker serves).
	MQTT bool `json:"mqtt"`
	// Influx is true when the last InfluxDB write succeeded; while false the spool
	// keeps the data and the gateway stays ready.
	Influx        bool    `json:"influx"`
	SpoolRecords  int64   `json:"spool_records"`
	SpoolAgeSecs  float64 `json:"spool_oldest_age_seconds"`
	SpoolFull     bool    `json:"spool_full"`
	DevicesLoaded int     `json:"devices_registered"`
}

// Readiness reports whether the gateway takes in messages.
func (g *Gateway) Readiness() Readiness {
	st := g.spool.Stats()
	r := Readiness{Active: g.isActive(), MQTT: g.mqttUp(), Influx: g.sink.Healthy(), SpoolRecords: st.Records,
		SpoolFull: st.Bytes >= g.cfg.Spool.MaxBytes, DevicesLoaded: g.devicesLoaded()}
	if !st.Oldest.IsZero() {
		r.SpoolAgeSecs = g.now().Sub(st.Oldest).Seconds()
	}
	r.Ready = r.Active && r.MQTT && !r.SpoolFull
	return r
}

// readinessMetric exports Readiness as carebed_ready, for an alert rule
// (deploy/prometheus/carebed-rules.yml).
func (g *Gateway) readinessMetric() error {
	return g.o.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "carebed_ready",
		Help: "1 while the gateway takes in messages (what /readyz answers: the active one of a pair, broker session up, spool not full)."},
		func() float64 {
			if g.Readiness().Ready {
				return 1
			}
			return 0
		}))
}

func (g *Gateway) serveReady(w http.ResponseWriter, _ *http.Request) {
	r := g.Readiness()
	code := http.StatusOK
	if !r.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, r)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}
