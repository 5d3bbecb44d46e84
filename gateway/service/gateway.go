// Package service is the gateway program as a type: New opens its stores and binds
// its listeners, Run takes messages in until the context ends and then shuts down in
// order (stop intake, finish hand-offs, flush the spool to InfluxDB within a bound,
// close stores). End-to-end tests start it in-process; cmd/gateway is a thin main.
package service

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"carebed/alerting"
	"carebed/alerting/api"
	"carebed/alerting/escalation"
	"carebed/alerting/rules"
	"carebed/gateway/auth"
	"carebed/gateway/broker"
	"carebed/gateway/brokerauth"
	"carebed/gateway/brokerstats"
	"carebed/gateway/config"
	"carebed/gateway/console"
	"carebed/gateway/deadletter"
	"carebed/gateway/digest"
	"carebed/gateway/ingest"
	"carebed/gateway/mqttsession"
	"carebed/gateway/observe"
	"carebed/gateway/outbound"
	"carebed/gateway/points"
	"carebed/gateway/position"
	"carebed/gateway/presence"
	"carebed/gateway/registry"
	"carebed/gateway/responderinlet"
	"carebed/gateway/sink"
	"carebed/gateway/spool"
	"carebed/gateway/tlsfiles"
	"carebed/gateway/visits"
)

// Options are what the caller injects besides the configuration.
type Options struct {
	Logger *slog.Logger
	// Registry receives all metrics; a new one (with Go and process collectors) when nil.
	Registry *prometheus.Registry
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// FlushTimeout bounds the spool flush on shutdown (default 5 s); what is left
	// stays in the spool for the next start.
	FlushTimeout time.Duration
}

// Gateway is the running service.
type Gateway struct {
	cfg     config.Config
	o       Options
	log     *slog.Logger
	now     func() time.Time
	reg     *registry.Store
	devices deviceTable
	homes   homeLog // homes.go: the home measurement
	nDev    atomic.Int64
	loaded  loadedRegistry // the last registry load, by refreshDevices alone
	spool   *spool.Spool
	dead    *deadletter.Log
	handler *ingest.Handler
	sink    *sink.Sink
	influx  influxdb2.Client
	session *mqttsession.Session // with Mosquitto; nil with the embedded broker
	alarms  *mqttsession.Session // events only (mqtt.alarm_session); nil when off
	// brokerIntake takes the embedded broker's messages; nil with Mosquitto.
	brokerIntake *ingest.Intake
	intake       atomic.Pointer[ingest.Intake] // the current one: each active term has its own
	pair         *pair                         // pair.go; nil outside the pair mode
	out          *outbound.Outbound
	broker       *broker.Broker
	httpLn       net.Listener
	http         *http.Server
	closers      []func() error

	alerts   alerting.Store
	rules    *rules.Engine
	runner   *escalation.Runner
	alertAPI *api.API
	auth     *auth.Service
	console  *console.Console

	visits      *visits.Service
	visitsPage  *console.VisitsPage
	digest      *digest.Service // digest.go; nil when off
	inspectPage *console.InspectPage
	positions   *position.Tracker               // positions.go
	places      atomic.Pointer[position.Places] // the responders' places for nearby, at each registry load
	positionsRP *positionsRP
	presence    *presence.Tracker   // presence.go
	reportPage  *console.ReportPage // report.go
}

// New opens the registry, spool and dead-letter log under the data folder, rebuilds
// the duplicate filter from the spool, and binds the HTTP (and embedded broker)
// listeners. Close releases everything if Run is never called.
func New(cfg config.Config, o Options) (*Gateway, error) {
	g := &Gateway{cfg: cfg, o: o}
	g.defaults()
	steps := []func() error{g.openStores, g.openPositions, g.buildAlerting, g.buildReportPage, g.buildPresence, g.buildIngest,
		g.buildSink, g.bindHTTP, g.buildIntake, g.readinessMetric, g.activeMetric}
	for _, step := range steps {
		if err := step(); err != nil {
			// What the earlier steps opened is released; the step's error is the
			// reason the caller reports.
			if cerr := g.Close(); cerr != nil {
				g.log.Warn("releasing a failed start", "err", cerr)
			}
			return nil, err
		}
	}
	return g, nil
}

func (g *Gateway) defaults() {
	if g.o.Logger == nil {
		g.o.Logger = slog.Default()
	}
	if g.o.Registry == nil {
		g.o.Registry = prometheus.NewRegistry()
		g.o.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if g.o.Now == nil {
		g.o.Now = time.Now
	}
	if g.o.FlushTimeout <= 0 {
		g.o.FlushTimeout = 5 * time.Second
	}
	g.log, g.now = g.o.Logger, g.o.Now
}

func (g *Gateway) openStores() error {
	if err := os.MkdirAll(g.cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), alertStoreOpenTimeout)
	reg, adopted, err := registry.OpenConfigured(ctx, g.cfg.Registry.Path, g.cfg.Database.URL)
	cancel()
	if err != nil {
		if g.cfg.Database.Postgres() {
			return fmt.Errorf("database.url: %w", err)
		}
		return err
	}
	if adopted > 0 {
		g.log.Info("registry copied from SQLite into PostgreSQL (once; the file is left as it was)",
			"from", g.cfg.Registry.Path, "rows", adopted)
	}
	g.reg = reg
	g.closers = append(g.closers, reg.Close)
	if err := g.refreshDevices(context.Background()); err != nil {
		return err
	}
	sp, err := spool.Open(spool.Options{Dir: g.cfg.SpoolDir(), MaxBytes: g.cfg.Spool.MaxBytes,
		SegmentBytes: g.cfg.Spool.SegmentBytes, KeepShippedBytes: g.cfg.Spool.KeepShippedBytes,
		SyncInterval: syncInterval(g.cfg.Spool.SyncInterval), Logger: g.log.With("component", "spool"), Registerer: g.o.Registry, Now: g.now})
	if err != nil {
		return err
	}
	g.spool = sp
	g.closers = append(g.closers, sp.Close)
	dl, err := deadletter.Open(g.cfg.DeadLetterPath(), g.cfg.Ingest.DeadLetterMaxBytes)
	if err != nil {
		return err
	}
	g.dead = dl
	g.closers = append(g.closers, dl.Close)
	return nil
}

// linger is mqtt.linger as the intake and the connection take it: 0 there means
// their default, so "no pacing" is negative.
func linger(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// syncInterval is spool.sync_interval as the spool takes it: 0 there means its
// default, so "no wait" is negative.
func syncInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// refreshDevices loads the registry's devices and what follows from them (the
// device table, the responders' places, the home measurement, the rules' thresholds,
// the embedded broker's recheck of every connection), unless nothing it reads has
// changed since the last load (registry.Store.Changes): then only the home
// measurement's hourly rewrite is due. A county of 100,000 devices skips 0.9 s of
// CPU a refresh so (BenchmarkRefresh, docs/performance.md).
func (g *Gateway) refreshDevices(ctx context.Context) error {
	changes, changesErr := g.reg.Changes(ctx) // before the load: a change during it shows next time
	if changesErr == nil && g.loaded.ok && changes == g.loaded.changes {
		g.writeHomes(g.loaded.homes) // the hourly rewrite, or a failed write again
		return nil
	}
	devs, err := g.reg.Devices(ctx)
	if err != nil {
		return fmt.Errorf("load registry: %w", err)
	}
	// Skipped next time only when everything that follows from the load was done.
	done := changesErr == nil
	n := g.devices.set(devs)
	done = g.refreshPlaces(ctx, devs) && done
	homes := homesOf(devs)
	g.writeHomes(homes)
	if g.rules != nil { // a home newly marked mobile, or moved
		g.rules.ThresholdsChanged()
	}
	if old := g.nDev.Swap(int64(n)); old != int64(n) {
		g.log.Info("registry loaded", "devices", n)
	}
	if g.broker != nil { // revoked or rotated credentials, removed devices
		if err := g.broker.Recheck(); err != nil {
			g.log.Error("rechecking the broker's connections; keeping them all until the next refresh", "err", err)
			done = false
		}
	}
	g.loaded = loadedRegistry{changes: changes, homes: homes, ok: done}
	return nil
}

// loadedRegistry is what a registry load read: the registry's count of changes then
// and the homes of its devices; ok when the count could be read and everything that
// follows from the load was done (else the next refresh loads again).
type loadedRegistry struct {
	changes int64
	ok      bool
	homes   map[string]points.HomePoint
}

func (g *Gateway) devicesLoaded() int { return int(g.nDev.Load()) }

func (g *Gateway) buildIngest() error {
	m := ingest.NewMetrics(g.o.Registry)
	g.handler = ingest.NewHandler(ingest.Options{Directory: &g.devices, Spool: g.ingestSpool(),
		DeadLetters: g.dead, Metrics: m, Logger: g.log, LateAfter: g.cfg.Ingest.LateAfter,
		Observer: observers{observe.Observer{Rules: g.rules}, g.visits, g.presence}, Positions: g.positions,
		DedupWindow: g.cfg.Ingest.DedupWindow, DeviceLimit: ingest.DeviceLimit(g.cfg.Ingest.DeviceLimit), Now: g.now})
	n := 0
	err := g.spool.Recent(func(rec []byte) error {
		n++
		if err := g.handler.Rebuild(rec); err != nil {
			g.log.Warn("skipped a spool record while rebuilding the duplicate filter", "err", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuild duplicate filter: %w", err)
	}
	g.log.Info("duplicate filter rebuilt from the spool", "records", n, "devices", g.handler.DevicesSeen())
	g.o.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "carebed_devices_seen", Help: "Devices whose messages the gateway has taken in (kept in the duplicate filter).",
	}, func() float64 { return float64(g.handler.DevicesSeen()) }))
	return nil
}

func (g *Gateway) buildSink() error {
	ic := g.cfg.Influx
	opts := influxdb2.DefaultOptions().SetHTTPClient(influxHTTPClient(ic.Timeout))
	g.influx = influxdb2.NewClientWithOptions(ic.URL, ic.Token, opts)
	g.closers = append(g.closers, func() error { g.influx.Close(); return nil })
	writer := g.positionsRouter(g.influx.WriteAPIBlocking(ic.Org, ic.Bucket), g.influx.WriteAPIBlocking(ic.Org, ic.Positions()))
	g.sink = sink.New(sink.Options{Source: g.spool, Writer: writer,
		DeadLetters: g.dead, Metrics: sink.NewMetrics(g.o.Registry), Logger: g.log,
		BatchRecords: ic.BatchPoints, FlushInterval: ic.FlushInterval, RetryMin: ic.RetryMin, RetryMax: ic.RetryMax, Now: g.now})
	return nil
}

// influxHTTPClient is the InfluxDB client's default HTTP client with a larger write
// buffer: with the default 4 KB, net/http wrote each batch (about a megabyte) to the
// socket 4 KB per system call.
func influxHTTPClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        100,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     90 * time.Second,
		WriteBufferSize:     256 << 10,
	}}
}

func (g *Gateway) bindHTTP() error {
	if g.cfg.HTTP.Addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", g.cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("http.addr: %w", err)
	}
	if t := g.cfg.HTTP.TLS; t.Enabled() {
		tc, err := tlsfiles.Server(t.CertFile, t.KeyFile, t.ClientCAFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("http.tls: %w", err)
		}
		ln = tls.NewListener(ln, tc) // requests then carry r.TLS: session cookies are Secure
	}
	g.httpLn = ln
	// Requests' contexts end when the server shuts down, so the console's live streams
	// (server-sent events) end at once instead of holding Shutdown up.
	base, endStreams := context.WithCancel(context.Background())
	g.http = &http.Server{Handler: g.routes(g.o.Registry), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return base }}
	g.http.RegisterOnShutdown(endStreams)
	g.closers = append(g.closers, ln.Close)
	return nil
}

func (g *Gateway) buildIntake() error {
	// Mosquitto's statistics; with the embedded broker their series stay at 0, so the
	// IT office's alert rules and boards find them whichever broker runs.
	stats := brokerstats.New(g.o.Registry)
	if eb := g.cfg.EmbeddedBroker; eb.Addr != "" {
		var tc *tls.Config
		if eb.TLS.Enabled() {
			var err error
			if tc, err = tlsfiles.Server(eb.TLS.CertFile, eb.TLS.KeyFile, eb.TLS.ClientCAFile); err != nil {
				return fmt.Errorf("embedded_broker.tls: %w", err)
			}
		}
		// The broker's clients hand their messages to an intake, as the session does:
		// batched, with events on their own lane.
		g.brokerIntake = ingest.NewIntake(ingest.IntakeOptions{Inflight: g.cfg.MQTT.Inflight,
			Linger: linger(g.cfg.MQTT.Linger), Logger: g.log}, g.handler)
		b, err := broker.New(broker.Options{Addr: eb.Addr, TLS: tc, Ingest: g.brokerIntake,
			Devices: &g.devices, Credentials: g.reg, AllowNoPassword: eb.AllowNoPassword,
			OnResponder: g.responders().Act, Registerer: g.o.Registry, Logger: g.log,
			Limits: broker.Limits{MaxConnecting: eb.MaxConnecting, MaxConnectingPerAddress: eb.MaxConnectingPerAddress,
				MaxConnectionsPerAddress: eb.MaxConnectionsPerAddress, ConnectTimeout: eb.ConnectTimeout,
				MaxWaiting: eb.MaxWaiting}})
		if err != nil {
			return fmt.Errorf("embedded_broker.addr: %w", err)
		}
		g.broker = b
		return nil
	}
	mc := g.cfg.MQTT
	tc, err := tlsfiles.Client(mc.TLS.CAFile, mc.TLS.CertFile, mc.TLS.KeyFile, mc.TLS.ServerName)
	if err != nil {
		return fmt.Errorf("mqtt.tls: %w", err)
	}
	g.session = mqttsession.New(mqttsession.Options{URL: mc.URL, ClientID: mc.SessionClientID(), TLS: tc,
		Username: mc.Username, Password: mc.Password, Linger: linger(mc.Linger),
		KeepAlive: mc.KeepAlive, ConnectTimeout: mc.ConnectTimeout, Logger: g.log, Registerer: g.o.Registry,
		MayConnect: g.mayConnect},
		mqttsession.Route{Prefix: brokerstats.Prefix, Filters: brokerstats.Filters(), Take: stats.Take},
		mqttsession.Route{Prefix: responderinlet.Prefix, Filters: responderinlet.Filters(), Take: g.responders().Take},
		mqttsession.Route{Filters: ingest.Topics, Take: g.take})
	if mc.AlarmSession {
		g.alarms = g.alarmSession(tc)
	}
	return nil
}

// alarmSession is the second session, which reads devices' events only
// (brokerauth.GatewayAlarms): an SOS reaches the intake's events lane even while
// the main session works through a backlog at the broker.
func (g *Gateway) alarmSession(tc *tls.Config) *mqttsession.Session {
	mc := g.cfg.MQTT
	user := ""
	if mc.Username != "" {
		user = brokerauth.AlarmUser(mc.Username)
	}
	return mqttsession.New(mqttsession.Options{Name: "alarms", URL: mc.URL, ClientID: brokerauth.AlarmUser(mc.SessionClientID()),
		TLS: tc, Username: user, Password: mc.Password, KeepAlive: mc.KeepAlive, ConnectTimeout: mc.ConnectTimeout,
		Logger: g.log, Registerer: g.o.Registry, MayConnect: g.mayConnect},
		mqttsession.Route{Filters: map[string]byte{ingest.EventTopics: 1}, Take: g.takeCopy})
}

// take hands a device message to the current intake; between two active terms of a
// pair there is none and the message stays unacknowledged (the broker redelivers it).
func (g *Gateway) take(m mqtt.Message) {
	if in := g.intake.Load(); in != nil {
		in.Take(m)
	}
}

// takeCopy is take for the alarm session, whose events the main session delivers
// too (ingest.Message.Copy).
func (g *Gateway) takeCopy(m mqtt.Message) {
	if in := g.intake.Load(); in != nil {
		in.TakeCopy(m)
	}
}

// responders is the responder apps' inlet, which the alert API serves.
func (g *Gateway) responders() *responderinlet.Inlet { return responderinlet.New(g.alertAPI, g.log) }

// HTTPAddr is the bound address of the HTTP listener ("" when off).
func (g *Gateway) HTTPAddr() string {
	if g.httpLn == nil {
		return ""
	}
	return g.httpLn.Addr().String()
}

// BrokerAddr is the bound address of the embedded broker ("" when off).
func (g *Gateway) BrokerAddr() string {
	if g.broker == nil {
		return ""
	}
	return g.broker.Addr().String()
}

func (g *Gateway) mqttUp() bool {
	if g.broker != nil {
		return true
	}
	return g.session != nil && g.session.Connected()
}

// Run serves until ctx ends, then shuts down in order and closes the stores.
func (g *Gateway) Run(ctx context.Context) error {
	defer g.Close()
	var wg sync.WaitGroup
	sinkCtx, stopSink := context.WithCancel(context.Background())
	defer stopSink()
	sinkDone := make(chan struct{})
	go func() {
		ensure, cancel := context.WithTimeout(sinkCtx, 10*time.Second)
		g.positionsRP.ensure(ensure) // before the first write of a position
		cancel()
		g.runSink(sinkCtx)
		close(sinkDone)
	}()
	posCtx, stopPos := context.WithCancel(context.Background())
	defer stopPos()
	posDone := make(chan struct{})
	go func() { g.positions.Run(posCtx, positionSaveInterval); close(posDone) }()
	if g.http != nil {
		wg.Go(func() { g.serveHTTP() })
	}
	wg.Go(func() {
		every(ctx, g.cfg.Registry.Refresh, g.log, "registry refresh failed; keeping the devices loaded before", g.refreshDevices)
	})
	var err error
	if g.pair != nil {
		err = g.runPair(ctx)
	} else {
		err = g.runActive(ctx, context.Background())
	}
	stopPos() // after the intake: it saves what the last messages brought
	<-posDone
	stopSink()
	<-sinkDone // one reader of the spool at a time
	g.flush()
	if g.http != nil {
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		g.http.Shutdown(shut) //nolint:errcheck // closing anyway
		cancel()
	}
	wg.Wait()
	if g.pair == nil { // the pair's active saves before it hands the lease over
		g.saveConditions()
	}
	return err
}

// runActive runs what only the active gateway runs (the alert rules, the visits'
// lists, the escalation and the intake) until ctx ends. The escalation stops when
// esc ends, after the intake's last messages (outside the pair mode esc outlives
// ctx; in the pair mode both are the active term, which ends at once).
func (g *Gateway) runActive(ctx, esc context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { g.rules.Run(ctx, g.alerts, g.now) })
	wg.Go(func() { g.visits.Run(ctx) })
	if g.digest != nil { // the active alone sends the week's digests
		wg.Go(func() { g.digest.Run(ctx) })
	}
	wg.Go(func() { g.runPresence(ctx) })
	escCtx, stopEsc := context.WithCancel(esc)
	defer stopEsc()
	escDone := make(chan struct{})
	go func() { g.runner.Run(escCtx); close(escDone) }() //nolint:errcheck // Run returns nil
	err := g.runIntake(ctx)
	stopEsc()
	<-escDone
	wg.Wait()
	return err
}

// saveConditions saves the rules' per-device state for the next start (or the
// other gateway of a pair).
func (g *Gateway) saveConditions() {
	if serr := g.rules.Save(context.Background(), g.alerts); serr != nil {
		g.log.Error("alert conditions not saved; their timers restart at the next start", "err", serr)
	}
}

// runIntake takes messages in until ctx ends.
func (g *Gateway) runIntake(ctx context.Context) error {
	if g.broker != nil {
		if err := g.broker.Serve(); err != nil {
			return fmt.Errorf("embedded broker: %w", err)
		}
		g.log.Info("embedded broker listening", "addr", g.BrokerAddr())
		err := g.brokerIntake.Run(ctx) // until ctx ends; the acks of what it took go out
		return errors.Join(err, g.broker.Close())
	}
	in := ingest.NewIntake(ingest.IntakeOptions{Inflight: g.cfg.MQTT.Inflight, Linger: linger(g.cfg.MQTT.Linger),
		Logger: g.log}, g.handler)
	g.intake.Store(in)
	defer g.intake.Store(nil)
	g.session.Connect()
	if g.alarms != nil {
		g.alarms.Connect()
		check := time.AfterFunc(alarmSessionGrace, g.warnNoAlarmSession)
		defer check.Stop()
		defer g.alarms.Close()
	}
	err := in.Run(ctx) // its acks go out before the sessions close
	g.session.Close()
	return err
}

// alarmSessionGrace is how long the alarm session may take to connect before the
// log says so.
const alarmSessionGrace = 30 * time.Second

// warnNoAlarmSession says that alarms can wait behind a backlog while the alarm
// session is not connected (most likely its broker user is missing).
func (g *Gateway) warnNoAlarmSession() {
	if g.session.Connected() && !g.alarms.Connected() {
		g.log.Warn("the alarm session is not connected: SOS and fall events still come through the main session, "+
			"but may wait there behind a backlog; run `gateway broker export` again and reload Mosquitto, "+
			"or set mqtt.alarm_session: false", "client_id", brokerauth.AlarmUser(g.cfg.MQTT.SessionClientID()))
	}
}

func (g *Gateway) runSink(ctx context.Context) {
	if err := g.sink.Run(ctx); err != nil {
		g.log.Error("InfluxDB writer stopped", "err", err)
	}
}

// flush ships what the spool holds, within FlushTimeout.
func (g *Gateway) flush() {
	ctx, cancel := context.WithTimeout(context.Background(), g.o.FlushTimeout)
	defer cancel()
	if err := g.sink.Flush(ctx); err != nil {
		g.log.Warn("spool not empty at shutdown; it is shipped after the next start",
			"records", g.spool.Stats().Records, "err", err)
	}
}

func (g *Gateway) serveHTTP() {
	g.log.Info("http listening", "addr", g.HTTPAddr())
	if err := g.http.Serve(g.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
		g.log.Error("http server stopped", "err", err)
	}
}

// every runs f every d until ctx ends, logging its errors as failure.
func every(ctx context.Context, d time.Duration, log *slog.Logger, failure string, f func(context.Context) error) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f(ctx); err != nil && ctx.Err() == nil {
				log.Error(failure, "err", err)
			}
		}
	}
}

// Close releases the stores and listeners, last opened first. It is safe to call
// more than once.
func (g *Gateway) Close() error {
	var errs []error
	for i := len(g.closers) - 1; i >= 0; i-- {
		if err := g.closers[i](); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	g.closers = nil
	return errors.Join(errs...)
}
