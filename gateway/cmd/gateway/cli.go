package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"carebed/gateway/config"
	"carebed/gateway/registry"
	"carebed/gateway/service"
)

const usage = `usage:
  gateway run [-config FILE]                          take device messages in (MQTT) and store them
  gateway registry import [-config FILE] [-skip-bad] LEDGER.csv
                                                      import the county's bed ledger
  gateway registry list [-config FILE]                print what is registered
  gateway devices provision [-config FILE] [-rotate] [-out FILE] [DEVICE...]
                                                      issue MQTT passwords to devices (CSV)
  gateway responders provision [-config FILE] [-rotate] [-out FILE] [RESPONDER...]
                                                      issue MQTT passwords to responder apps
  gateway devices|responders revoke [-config FILE] USERNAME...
  gateway credentials list [-config FILE]             who has a password (not the passwords)
  gateway broker export [-config FILE] [-dir DIR]     write Mosquitto's passwd and acl files
  gateway users add [-config FILE] -role R -display D -county C [-township T] [-village V]
                    [-phone P] [-password-stdin] NAME  add (or update) an API user
  gateway users passwd [-config FILE] [-password-stdin] NAME
  gateway users disable|list [-config FILE] [NAME]
  gateway tokens create [-config FILE] [-label L] [-ttl D] NAME
                                                      an API token for a system acting as NAME
  gateway backup [-config FILE] DIR                   copy the SQLite stores (while running)
  gateway restore [-config FILE] DIR                  put a backup back (gateway stopped)
  gateway report monthly [-config FILE] -month YYYY-MM [-county C] [-township T] [-pdf=false] -out DIR
                                                      the monthly supervision report (HTML, PDF, xlsx)
  gateway report inspect [-config FILE] -month YYYY-MM -homes N -inspectors FILE [-seed S]
                         [-county C] [-slow D]        the month's random inspection draw (双随机)
Environment overrides: CAREBED_MQTT_URL, CAREBED_MQTT_USERNAME, CAREBED_MQTT_PASSWORD,
CAREBED_EMBEDDED_BROKER_ADDR, CAREBED_INFLUX_URL, CAREBED_INFLUX_TOKEN, CAREBED_INFLUX_BUCKET,
CAREBED_HTTP_ADDR, CAREBED_HTTP_PUBLIC_URL, CAREBED_DATA_DIR, CAREBED_TWILIO_*.
`

// run executes one command and returns the exit code: 0 ok, 1 failure, 2 misuse.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	sub := ""
	if len(args) > 1 {
		sub = args[1]
	}
	switch cmd := args[0]; {
	case cmd == "run":
		err = runGateway(ctx, args[1:], stderr, env)
	case cmd == "registry" && sub == "import":
		err = importLedger(ctx, args[2:], stdout, stderr, env)
	case cmd == "registry" && sub == "list":
		err = listRegistry(ctx, args[2:], stdout, stderr, env)
	case (cmd == "devices" || cmd == "responders") && sub == "provision":
		err = provisionCmd(ctx, cmd, args[2:], stdout, stderr, env)
	case (cmd == "devices" || cmd == "responders") && sub == "revoke":
		err = revokeCmd(ctx, cmd, args[2:], stderr, env)
	case cmd == "credentials" && sub == "list":
		err = credentialsCmd(ctx, args[2:], stdout, stderr, env)
	case cmd == "broker" && sub == "export":
		err = exportCmd(ctx, args[2:], stderr, env)
	case cmd == "users" && sub != "":
		err = usersCmd(ctx, sub, args[2:], stdin, stdout, stderr, env)
	case cmd == "tokens" && sub == "create":
		err = tokensCmd(ctx, args[2:], stdout, stderr, env)
	case cmd == "backup":
		err = backupCmd(ctx, args[1:], stderr, env)
	case cmd == "restore":
		err = restoreCmd(ctx, args[1:], stderr, env)
	case cmd == "report" && sub == "monthly":
		err = reportCmd(ctx, args[2:], stdout, stderr, env, time.Now())
	case cmd == "report" && sub == "inspect":
		err = reportInspect(ctx, args[2:], stdout, stderr, env, time.Now())
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "gateway:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "gateway:", err)
		return 1
	}
}

type usageError struct{ error }

// loadConfig parses the -config flag (and the command's own flags, set up by more)
// and loads the configuration.
func loadConfig(name string, args []string, stderr io.Writer, env func(string) (string, bool),
	more func(*flag.FlagSet)) (config.Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "YAML configuration `file` (defaults when empty)")
	if more != nil {
		more(fs)
	}
	if err := fs.Parse(args); err != nil {
		return config.Config{}, nil, usageError{err}
	}
	cfg, err := config.Load(*path, env)
	return cfg, fs, err
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.Log.Level)) //nolint:errcheck // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func runGateway(ctx context.Context, args []string, stderr io.Writer, env func(string) (string, bool)) error {
	cfg, _, err := loadConfig("run", args, stderr, env, nil)
	if err != nil {
		return err
	}
	if _, set := env("GOGC"); !set { // GOGC in the environment still decides
		debug.SetGCPercent(gcPercent(cfg))
	}
	log := newLogger(cfg, stderr)
	g, err := service.New(cfg, service.Options{Logger: log})
	if err != nil {
		return err
	}
	log.Info("gateway started", "http", g.HTTPAddr(), "embedded_broker", g.BrokerAddr(),
		"mqtt", cfg.MQTT.URL, "influx", cfg.Influx.URL, "data_dir", cfg.DataDir)
	err = g.Run(ctx)
	log.Info("gateway stopped")
	return err
}

// gcPercent is the garbage collector's target for `gateway run`. With an external
// broker the heap is small and its garbage steady (one batch of messages after
// another): collecting at 4x the live heap instead of 2x halves the GC's CPU for a
// few megabytes. With the embedded broker the heap grows with the connections, and
// 4x costs gigabytes (with mochi-mqtt at 15,000 connections 2.0 GiB against 1.1 GiB
// at 2x, for the same CPU; docs/performance.md), and would take the broker's 100,000
// past 2 GiB even now that a connection holds about 3 KB of heap.
func gcPercent(cfg config.Config) int {
	if cfg.EmbeddedBroker.Addr != "" {
		return 100
	}
	return 400
}

// withRegistry loads the configuration (the command's own flags set up by more),
// opens the registry and runs f with them.
func withRegistry(name string, args []string, stderr io.Writer, env func(string) (string, bool),
	more func(*flag.FlagSet), f func(config.Config, *flag.FlagSet, *registry.Store) error) error {
	cfg, fs, err := loadConfig(name, args, stderr, env, more)
	if err != nil {
		return err
	}
	reg, err := openRegistry(cfg, stderr)
	if err != nil {
		return err
	}
	defer reg.Close()
	return f(cfg, fs, reg)
}

func openRegistry(cfg config.Config, stderr io.Writer) (*registry.Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg, adopted, err := registry.OpenConfigured(ctx, cfg.Registry.Path, cfg.Database.URL)
	if adopted > 0 {
		fmt.Fprintf(stderr, "copied the registry in %s into PostgreSQL (database.url): %d rows; the file is left as it was\n",
			cfg.Registry.Path, adopted)
	}
	return reg, err
}

func importLedger(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	var skipBad bool
	cfg, fs, err := loadConfig("registry import", args, stderr, env, func(fs *flag.FlagSet) {
		fs.BoolVar(&skipBad, "skip-bad", false, "import the good rows of a file that has bad ones")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("registry import takes one CSV file")}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	reg, err := openRegistry(cfg, stderr)
	if err != nil {
		return err
	}
	defer reg.Close()
	rep, err := reg.Import(ctx, f, registry.ImportOptions{SkipBad: skipBad})
	for _, e := range rep.Errors {
		fmt.Fprintln(stderr, fs.Arg(0)+":", e.Error())
	}
	if err != nil {
		if errors.Is(err, registry.ErrBadRows) {
			return fmt.Errorf("%d bad rows: nothing imported (fix them, or use -skip-bad)", len(rep.Errors))
		}
		return err
	}
	fmt.Fprintf(stdout, "%d rows: %d imported, %d updated, %d unchanged, %d skipped\n",
		rep.Rows, rep.Imported, rep.Updated, rep.Unchanged, len(rep.Errors))
	return nil
}

func listRegistry(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	return withRegistry("registry list", args, stderr, env, nil, func(_ config.Config, _ *flag.FlagSet, reg *registry.Store) error {
		return reg.WriteList(ctx, stdout)
	})
}
