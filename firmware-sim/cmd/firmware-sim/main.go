// Command firmware-sim plays simulated care-bed devices that speak protocol v1:
// `firmware-sim demo` and `run` bring the homes of a bed ledger to life (with a
// scenario), `firmware-sim load` offers a fixed message rate for benchmarks.
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

	"carebed/firmware-sim/fleet"
	"carebed/firmware-sim/population"
)

const usage = `usage:
  firmware-sim demo -broker URL -ledger FILE.csv [-ledger MORE.csv] [-every D] [-duration D] [-passwords FILE.csv]
                    [-sms-webhook URL -twilio-token T [-gateway-number +86...]]
      every device of the ledger runs its firmware model (pendant, herder's GPS
      pendant, fall sensor, bed sensor, detectors) on its own MQTT connection, in
      real time; SMS-only phones (sms_phone) text the gateway's Twilio webhook
  firmware-sim run -broker URL -ledger FILE.csv -scenario FILE.yml [same flags as demo]
      the same, and the scenario's events happen on time (at its speed, from its
      start); ends with a summary of what was sent and what each kind of device did
  firmware-sim load -broker URL [-devices 1000] [-conns 8] [-rate 20000] [-duration 30s] [-qos 1] [-prefix bed]
      offer a fixed message rate from many devices over a few connections
  firmware-sim ledger [-homes 100] [-herders 0] [-seed 1]
      write a bed ledger CSV of generated homes (3 devices each) for the registry;
      -herders N adds N herder homes (流动 是) with a GPS pendant and an SMS-only
      phone each (columns 流动 and 设备电话)
  firmware-sim falleval [-loso [-c8-only]] [DIR]
      run the wearable's fall detector over every SisFall recording under DIR (or
      $SISFALL_DIR; files named like F05_SA03_R02.txt) and print sensitivity and
      specificity per group (young, elderly) and per code, misses and false alarms;
      -loso: leave-one-subject-out cross-validation of the thresholds (-c8-only:
      of the paper's C8 threshold alone)
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
		err = fallEval(args[1:], stdout, stderr)
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

func load(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	broker := fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	n := fs.Int("devices", 1000, "number of devices")
	conns := fs.Int("conns", 8, "MQTT connections")
	rate := fs.Float64("rate", 20000, "offered messages per second, in total")
	duration := fs.Duration("duration", 30*time.Second, "how long to offer the rate")
	prefix := fs.String("prefix", "bed", "device id prefix")
	qos := fs.Int("qos", 1, "QoS of the readings: 1, or 0 (no PUBACKs: nothing is counted as acknowledged)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *qos != 0 && *qos != 1 {
		return fmt.Errorf("load: -qos is 0 or 1, not %d", *qos)
	}
	ids := make([]string, *n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%05d", *prefix, i+1)
	}
	fl := fleet.New(fleet.Options{Broker: *broker, Devices: ids, Conns: *conns, Rate: *rate,
		Duration: *duration, MaxInflight: 5000, FirstSeq: uint64(time.Now().UnixMilli()), Volatile: true, QoS0: *qos == 0})
	return report(ctx, fl, stdout)
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
	herders := fs.Int("herders", 0, "number of herder homes (a GPS pendant and an SMS-only phone each) after them")
	seed := fs.Uint64("seed", 1, "the same seed writes the same ledger")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *homes < 0 || *herders < 0 {
		return errors.New("ledger: -homes and -herders cannot be negative")
	}
	return population.WriteWith(stdout, population.Options{Homes: *homes, Herders: *herders, Seed: *seed})
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
