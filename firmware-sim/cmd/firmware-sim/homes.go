package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
	_ "time/tzdata" // Asia/Urumqi and friends without the system's zone database

	"carebed/firmware-sim/fleet"
	"carebed/firmware-sim/homes"
	"carebed/firmware-sim/scenario"
	"carebed/firmware-sim/simclock"
	"carebed/firmware-sim/smsphone"
)

// homeFlags are the flags of run and demo.
type homeFlags struct {
	broker, scenario, passwords *string
	ledgers                     *files
	every, duration             *time.Duration
	smsWebhook, smsToken, smsTo *string
}

// files is a flag that may be given more than once.
type files []string

func (f *files) String() string     { return strings.Join(*f, ",") }
func (f *files) Set(v string) error { *f = append(*f, v); return nil }

func newHomeFlags(fs *flag.FlagSet) homeFlags {
	f := homeFlags{
		broker:    fs.String("broker", "tcp://127.0.0.1:1883", "MQTT broker URL"),
		ledgers:   &files{},
		scenario:  fs.String("scenario", "", "scenario YAML file"),
		passwords: fs.String("passwords", "", "CSV of device_id,password (default: no passwords)"),
		every:     fs.Duration("every", 0, "how often each device reports (0: the ledger's heartbeat interval)"),
		duration:  fs.Duration("duration", 0, "stop after this long, simulated (0: the scenario's duration; demo: until interrupted)"),
		smsWebhook: fs.String("sms-webhook", "", "the gateway's inbound-SMS webhook as Twilio calls it, "+
			"e.g. http://127.0.0.1:8080/webhooks/twilio/sms: where SMS-only phones (sms_phone) text"),
		smsToken: fs.String("twilio-token", os.Getenv("CAREBED_TWILIO_AUTH_TOKEN"),
			"the Twilio auth token the webhook is signed with (default $CAREBED_TWILIO_AUTH_TOKEN)"),
		smsTo: fs.String("gateway-number", smsphone.DefaultTo, "the gateway's Twilio number the phones text (To)"),
	}
	fs.Var(f.ledgers, "ledger", "bed ledger CSV whose devices to play (again for more files: their rows are joined)")
	return f
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return playHomes(ctx, "demo", args, stdout, stderr)
}

func runScenario(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return playHomes(ctx, "run", args, stdout, stderr)
}

// playHomes runs the ledger's homes with the scenario (none for demo).
func playHomes(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := newHomeFlags(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	sc, err := readScenario(cmd, *f.scenario)
	if err != nil {
		return err
	}
	if *f.duration > 0 || cmd == "demo" {
		sc.Duration = max(*f.duration, sc.Duration)
	}
	o, err := homeOptions(f, sc, stderr)
	if err != nil {
		return err
	}
	h, err := homes.New(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "firmware-sim: %q, %d devices to %s, %d events, from %s at %gx\n", sc.Name, len(o.Ledger), *f.broker,
		len(sc.Events), o.Clock.Now().In(sc.Location()).Format("2006-01-02 15:04 MST"), sc.Speed)
	sent, err := play(ctx, h, sc, o.Clock)
	if err != nil {
		return err
	}
	scenario.Summary(stdout, sent)
	h.Report(stdout)
	return nil
}

func readScenario(cmd, path string) (scenario.Scenario, error) {
	if path == "" {
		if cmd == "run" {
			return scenario.Scenario{}, errors.New("run needs -scenario FILE.yml (demo runs without one)")
		}
		return scenario.Parse(nil)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return scenario.Scenario{}, err
	}
	return scenario.Parse(b)
}

// homeOptions reads the ledger and passwords and sets the clock.
func homeOptions(f homeFlags, sc scenario.Scenario, stderr io.Writer) (homes.Options, error) {
	if len(*f.ledgers) == 0 {
		return homes.Options{}, errors.New("no -ledger FILE.csv to open")
	}
	var devs []fleet.LedgerDevice
	for _, path := range *f.ledgers {
		d, err := readLedger(path)
		if err != nil {
			return homes.Options{}, err
		}
		devs = append(devs, d...)
	}
	var pw map[string]string
	if *f.passwords != "" {
		r, err := os.Open(*f.passwords)
		if err != nil {
			return homes.Options{}, err
		}
		pw, err = homes.ReadPasswords(r)
		r.Close()
		if err != nil {
			return homes.Options{}, err
		}
	}
	now := time.Now()
	return homes.Options{Broker: *f.broker, Ledger: devs, Scenario: sc, Clock: simclock.NewScaled(sc.Begin(now), sc.Speed),
		Every: *f.every, Step: time.Duration(float64(200*time.Millisecond) * sc.Speed), FirstSeq: uint64(now.UnixMilli()),
		Passwords: pw, Retry: 5 * time.Second, Jitter: 500 * time.Millisecond,
		SMS:    smsphone.Webhook{URL: *f.smsWebhook, AuthToken: *f.smsToken, To: *f.smsTo},
		Logger: slog.New(slog.NewTextHandler(stderr, nil))}, nil
}

// play runs the homes, plays the scenario once they are online, and stops at the
// end of its duration (never, for a demo without one) or when ctx ends.
func play(ctx context.Context, h *homes.Homes, sc scenario.Scenario, clk simclock.Clock) ([]scenario.Sent, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	if err := online(ctx, h, ran); err != nil {
		return nil, err
	}
	start := clk.Now()
	sent := scenario.Play(ctx, sc, clk, h)
	if sc.Duration > 0 {
		select {
		case <-ctx.Done():
		case <-clk.Wait(start.Add(sc.Duration)):
		}
	} else {
		<-ctx.Done()
	}
	cancel()
	return sent, <-ran
}

// online waits until every device is online, or Run has failed.
func online(ctx context.Context, h *homes.Homes, ran <-chan error) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !h.Ready() {
		select {
		case err := <-ran:
			if err == nil {
				err = errors.New("stopped before the devices were online")
			}
			return err
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
	return nil
}
