# carebed: two commands on a fresh Debian machine, `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/.bin
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build install test unit bench bench-telegraf bench-storm bench-100k demo fuzz vet clean dashboards certs screenshots falleval

all: build

# install puts the real services in place: Mosquitto, Prometheus and PostgreSQL (apt)
# and InfluxDB 1.8.3 (built once into .bin/ from the Go module proxy).
install:
	deploy/dev/install

build:
	@mkdir -p $(BIN)
	@echo "build: compiling the gateway and firmware-sim into $(BIN)/ (a minute or two the first time, seconds after)"
	$(GO) build -o $(BIN)/ ./gateway/cmd/gateway ./firmware-sim/cmd/firmware-sim
	@echo "build: done"

vet:
	$(GO) vet ./...

# test runs every test against real Mosquitto, InfluxDB and PostgreSQL started by the tests
# themselves (deploy/dev/run-*), each on its own ports and folders.
test: install vet
	@echo "test: every package against real Mosquitto, InfluxDB, Prometheus and Chromium (about 6 minutes)"
	CAREBED_INFLUXD=$(BIN)/influxd CAREBED_INFLUX_FLUX=false $(GO) test -count=1 -timeout 40m ./...

# unit runs the tests that need no services.
unit:
	$(GO) test -count=1 -short ./...

# bench measures the whole path Mosquitto -> gateway -> InfluxDB at fixed offered
# rates (docs/performance.md says how to read it), then the parts the township-scale
# runs found slow (a village's power cut in the rules, the responders near a far-away
# SOS, the registry load at each refresh). -v: without it go test cuts a benchmark's
# log after a few lines, and each run's figures are in the log.
bench: install
	deploy/dev/install-telegraf
	CAREBED_INFLUXD=$(BIN)/influxd $(GO) test -v -count=1 -run '^$$' \
	  -bench '^Benchmark(Pipeline|Drain|BrokerBacklog|PahoFloor|Telegraf|GatewayStart|EventToSMS|PairAcknowledgement)$$' -benchtime 1x -timeout 60m ./bench/
	$(GO) test -count=1 -run '^$$' -bench '^Benchmark(PowerCut|RaiseDuringSave|Nearby|Places|Refresh)$$' ./alerting/rules/ ./gateway/position/ ./gateway/service/
	$(GO) test -count=1 -run '^$$' -bench '^BenchmarkPublishRoundTrip$$' -benchtime 30000x ./gateway/broker/

# bench-telegraf measures the reference, Telegraf's mqtt_consumer -> InfluxDB (built
# once into .bin/ by deploy/dev/install-telegraf), with the same method and rates.
bench-telegraf: install
	deploy/dev/install-telegraf
	CAREBED_INFLUXD=$(BIN)/influxd $(GO) test -v -count=1 -run '^$$' -bench Telegraf -benchtime 1x -timeout 60m ./bench/

# bench-storm: a township's devices come back after a power cut and replay their
# readings while elders press SOS, with Mosquitto and with the embedded broker
# (BenchmarkStorm; docs/performance.md). Defaults: 20,000 devices, a 30-minute gap,
# 200 live, 3 storms of 3 SOS each; set CAREBED_STORM_DEVICES, _GAP, _LIVE, _RUNS,
# _SOS, _SPREAD, _EVERY, _BROKERS (mosquitto,embedded; haproxy: Mosquitto behind
# HAProxy, deploy/haproxy, devices on TLS, two open files a device) to change them;
# CAREBED_BENCH_CPUPROFILE=path profiles the gateway in each storm's first 20 s;
# CAREBED_BENCH_TLS=1 puts the devices on TLS (also for bench-100k).
bench-storm: install
	CAREBED_INFLUXD=$(BIN)/influxd CAREBED_INFLUX_FLUX=false $(GO) test -v -count=1 -run '^$$' \
	  -bench '^BenchmarkStorm$$' -benchtime 1x -timeout 180m ./bench/

# bench-100k: 100,000 device connections held with keepalive, a reading a minute each,
# to the embedded broker and to Mosquitto (BenchmarkConnections), what one idle
# connection costs a load generator (BenchmarkClientMemory), the gateway's start with
# CAREBED_START_DEVICES (100000) registered (BenchmarkStartAtScale), then what one
# connection costs the embedded broker's process (BenchmarkConnectionMemory,
# CAREBED_BROKERMEM_CONNS; and 100,000 connections over in-memory pipes, which need
# no descriptors, BenchmarkPipeConnections, CAREBED_PIPE_CONNS; again over TLS as
# firmware speaks it) and its recheck of every connection at a registry refresh
# (BenchmarkRecheck, CAREBED_RECHECK_CONNS). Needs an open-file hard limit above the
# device count (ulimit -Hn). CAREBED_CONN_DEVICES (default 100000), _HOLD (5m),
# _EVERY (1m), _SOS (100), _BROKERS (embedded,mosquitto; haproxy as for bench-storm).
bench-100k: install
	CAREBED_INFLUXD=$(BIN)/influxd CAREBED_INFLUX_FLUX=false $(GO) test -v -count=1 -run '^$$' \
	  -bench '^Benchmark(ClientMemory|Connections|StartAtScale)$$' -benchtime 1x -timeout 180m ./bench/
	$(GO) test -count=1 -run '^$$' -bench '^Benchmark(ConnectionMemory|PipeConnections)$$' -benchtime 1x ./gateway/broker/
	CAREBED_BROKERMEM_TLS=x25519 $(GO) test -count=1 -run '^$$' -bench '^BenchmarkConnectionMemory$$' -benchtime 1x ./gateway/broker/
	$(GO) test -count=1 -run '^$$' -bench '^BenchmarkRecheck$$' ./gateway/broker/

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime 60s ./gateway/protocol/
	$(GO) test -run '^$$' -fuzz '^FuzzReadPacket$$' -fuzztime 60s ./gateway/broker/

# dashboards regenerates the Grafana boards' JSON (dashboards/json) from their Go
# definitions (dashboards/board); commit both (docs/dashboards.md).
dashboards:
	$(GO) run ./dashboards/cmd/gen -out dashboards/json

# demo starts InfluxDB, the gateway with its embedded broker and simulated homes, and
# prints where to look. DEMO_SECONDS=N stops it after N seconds (default: Ctrl-C).
demo: install build
	deploy/dev/demo

# screenshots retakes the duty console's screenshots in docs/console and the monthly
# report's in docs/report (real Chromium).
screenshots: install
	CAREBED_SCREENSHOTS=$(CURDIR)/docs/console CAREBED_INFLUXD=$(BIN)/influxd CAREBED_INFLUX_FLUX=false \
	  $(GO) test -count=1 -run 'TestDutyConsoleInABrowser|TestConsoleReportPage' ./gateway/service/
	CAREBED_SCREENSHOTS=$(CURDIR)/docs/report CAREBED_INFLUXD=$(BIN)/influxd CAREBED_INFLUX_FLUX=false \
	  $(GO) test -count=1 -run TestFixtureFiles ./gateway/report/

# certs makes a local CA and TLS certificates for development, tests and a trial
# compose deployment: make certs CERTS_DIR=deploy/compose/certs CERT_HOSTS=mosquitto,gateway
CERTS_DIR ?= .dev/certs
CERT_HOSTS ?=
certs:
	$(GO) run ./internal/devcerts/cmd/devcerts -dir $(CERTS_DIR) -hosts "$(CERT_HOSTS)"

clean:
	rm -rf .dev .demo

# falleval judges the wearable's fall detector on real SisFall recordings (not in
# `make test`: the recordings have no licence and are not in the repository). Put
# the training subjects' folders under SISFALL_DIR (docs/firmware-sim.md says how);
# FALLEVAL_FLAGS=-loso cross-validates the thresholds leaving one subject out.
falleval: build
	@test -n "$(SISFALL_DIR)" || { echo "make falleval: set SISFALL_DIR to the folder of SisFall recordings (docs/firmware-sim.md)" >&2; exit 2; }
	GOMAXPROCS=2 $(BIN)/firmware-sim falleval $(FALLEVAL_FLAGS) "$(SISFALL_DIR)"
