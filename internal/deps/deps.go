//go:build tools

// Package deps pins the project's libraries until code imports them.
package deps

import (
	_ "github.com/eclipse/paho.mqtt.golang"
	_ "github.com/grafana/grafana-foundation-sdk/go/dashboard"
	_ "github.com/grafana/grafana-foundation-sdk/go/geomap"
	_ "github.com/grafana/grafana-foundation-sdk/go/prometheus"
	_ "github.com/grafana/grafana-foundation-sdk/go/stat"
	_ "github.com/grafana/grafana-foundation-sdk/go/table"
	_ "github.com/grafana/grafana-foundation-sdk/go/timeseries"
	_ "github.com/influxdata/influxdb-client-go/v2"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/testutil"
	_ "github.com/twilio/twilio-go"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/crypto/bcrypt"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
)
