// Command firmware-sim plays simulated care-bed devices that speak protocol v1:
// `firmware-sim demo` brings the homes of a bed ledger to life, `firmware-sim load`
// offers a fixed message rate for benchmarks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"carebed/firmware-sim/falldetect"
	"carebed/firmware-sim/fleet"
	"carebed/firmware-sim/population"
	"carebed/firmware-sim/scenario"
)

const usage = `usage:
  firmware-sim demo -broker URL -ledger FILE.csv [-every 5s] [-duration D]
      every device of the ledger connects as itself and reports like firmware
  firmware-sim load -broker URL [-devices 1000] [-conns 8] [-rate 20000] [-duration 30s] [-prefix bed]
      offer a fixed QoS 1 message rate from many devices over a few connections
  firmware-sim run -broker URL -ledger FILE.csv -scenario FILE.yml [-every 5s]
      the ledger's homes report as in demo, and the scenario's events happen on time;
      ends with a summary of what was sent
  firmware-sim ledger [-homes 100] [-seed 1]
      write a bed ledger CSV of generated homes (3 devices each) for the registry
  firmware-sim falleval DIR
      run the wearable's fall detector over every trace (SisFall format; F* falls,
      D* activities) under DIR and print sensitivity, specificity and a confusion table
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "demo":
		err = demo(ctx, args[1:], stdout, stderr)
	case "load":
		err = load(ctx, args[1:], stdout, stderr)
	case "falleval":
		err = fallEval(args[1:], stdout)
	case "ledger":
		err = ledger(args[1:], stdout, stderr)
	case "run":
		err = runScenario(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "firmware-sim:", err)
		return 1
	}
	return 0
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	ledger := fs.String("ledger", "", "bed ledger CSV whose devices to play")
	every := fs.Duration("every", 5*time.Second, "how often each device reports")
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Open(*ledger)
	if err != nil {
		return err
	}
	kinds, err := fleet.LedgerDevices(f)
	f.Close()
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(kinds))
	for id := range kinds {
		ids = append(ids, id)
	}
	fl := fleet.New(fleet.Options{Broker: *broker, Devices: ids, PerDevice: true,
		Rate: float64(len(ids)) / every.Seconds(), Duration: *duration, Payload: fleet.Homes(kinds),
		FirstSeq: uint64(time.Now().UnixMilli())}) // seq keeps increasing across demo runs
	fmt.Fprintf(stdout, "firmware-sim: %d devices reporting every %s to %s\n", len(ids), *every, *broker)
	return report(ctx, fl, stdout)
}

func load(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	n := fs.Int("devices", 1000, "number of devices")
	conns := fs.Int("conns", 8, "MQTT connections")
	rate := fs.Float64("rate", 20000, "offered messages per second, in total")
	duration := fs.Duration("duration", 30*time.Second, "how long to offer the rate")
	prefix := fs.String("prefix", "bed", "device id prefix")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ids := make([]string, *n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%05d", *prefix, i+1)
	}
	fl := fleet.New(fleet.Options{Broker: *broker, Devices: ids, Conns: *conns, Rate: *rate,
		Duration: *duration, MaxInflight: 5000, FirstSeq: uint64(time.Now().UnixMilli()), Volatile: true})
	return report(ctx, fl, stdout)
}

func runScenario(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	ledgerPath := fs.String("ledger", "", "bed ledger CSV whose devices to play")
	scenarioPath := fs.String("scenario", "", "scenario YAML file")
	every := fs.Duration("every", 5*time.Second, "how often each device reports")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*scenarioPath)
	if err != nil {
		return err
	}
	sc, err := scenario.Parse(b)
	if err != nil {
		return err
	}
	devs, err := readLedger(*ledgerPath)
	if err != nil {
		return err
	}
	kinds, byHome, byVillage, ids := map[string]string{}, map[[2]string]string{}, map[string][]string{}, []string(nil)
	for _, d := range devs {
		kinds[d.ID], byHome[[2]string{d.Home, d.Kind}] = d.Kind, d.ID
		byVillage[d.Village] = append(byVillage[d.Village], d.ID)
		ids = append(ids, d.ID)
	}
	fl := fleet.New(fleet.Options{Broker: *broker, Devices: ids, PerDevice: true, Rate: float64(len(ids)) / every.Seconds(),
		Duration: sc.Duration, Payload: fleet.Homes(kinds), FirstSeq: uint64(time.Now().UnixMilli())})
	fmt.Fprintf(stdout, "firmware-sim: scenario %q, %d devices, %d events over %s\n", sc.Name, len(ids), len(sc.Events), sc.Duration)
	done := make(chan []scenario.Sent, 1)
	go func() {
		waitConnected(ctx, fl, ids)
		done <- scenario.Run(ctx, sc, func(home, kind string) (string, bool) {
			id, ok := byHome[[2]string{home, kind}]
			return id, ok
		}, func(v string) []string { return byVillage[v] }, fl)
	}()
	rep, err := fl.Run(ctx)
	if err != nil {
		return err
	}
	scenario.Summary(stdout, <-done)
	fmt.Fprintf(stdout, "reports sent %d, acknowledged %d, publish errors %d\n", rep.Sent, rep.Acked, rep.Errors)
	return nil
}

// waitConnected waits (bounded) until the fleet has connected its devices.
func waitConnected(ctx context.Context, fl *fleet.Fleet, ids []string) {
	end := time.Now().Add(30 * time.Second)
	for time.Now().Before(end) && ctx.Err() == nil {
		if fl.Connected(ids[0]) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readLedger(path string) ([]fleet.LedgerDevice, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return fleet.ReadLedger(f)
}

func ledger(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ledger", flag.ContinueOnError)
	fs.SetOutput(stderr)
	homes := fs.Int("homes", 100, "number of homes")
	seed := fs.Uint64("seed", 1, "the same seed writes the same ledger")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return population.Write(stdout, *homes, *seed)
}

func fallEval(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("falleval takes one folder of traces")
	}
	rep, err := falldetect.Evaluate(args[0], falldetect.DefaultConfig())
	if err != nil {
		return err
	}
	return rep.WriteText(stdout)
}

// report runs the fleet, printing progress every second, then the totals.
func report(ctx context.Context, fl *fleet.Fleet, stdout io.Writer) error {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s := fl.Sent()
				fmt.Fprintf(stdout, "\rsent %d (%d/s)   ", s, s-last)
				last = s
			}
		}
	}()
	rep, err := fl.Run(ctx)
	close(done)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nsent %d, acknowledged %d, unconfirmed (resent after a reconnect) %d, publish errors %d, %.0f msg/s over %s\n",
		rep.Sent, rep.Acked, rep.Unconfirmed, rep.Errors, rep.Rate(), rep.Elapsed.Round(time.Millisecond))
	if rep.LastError != nil {
		fmt.Fprintln(stdout, "last error:", rep.LastError)
	}
	return nil
}
