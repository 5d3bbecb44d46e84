// Package dashboards holds carebed's Grafana dashboards: their definitions as code
// (board), the InfluxQL builder (influxql), the generated JSON (json/), Grafana's
// provisioning files (provisioning/) and the tests that run every panel's queries
// against real InfluxDB 1.8 and Prometheus (interpolate expands Grafana's variables
// and macros for them). docs/dashboards.md describes the boards.
package dashboards

//go:generate go run ./cmd/gen -out json
