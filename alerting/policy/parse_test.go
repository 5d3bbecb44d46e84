package policy

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"carebed/alerting"
)

func TestParseErrors(t *testing.T) {
	cases := map[string]string{
		"unknown_key":            `alerting.rules: line 2: unknown key "fall_hold_of"`,
		"township_unknown_key":   `alerting.townships.巴伦台镇: line 4: unknown key "quiet_hour"`,
		"repeated_key":           `alerting.rules: line 4: key "hr_low" repeated (first at line 2)`,
		"not_a_mapping":          `alerting.rules: line 1: must be a mapping of keys to values`,
		"not_a_list":             `alerting.ladders.high.steps[0].notify: line 4: must be a list`,
		"not_a_number":           `alerting.rules.hr_high: line 2: "high" is not a number`,
		"bad_duration":           `alerting.rules.no_vitals_after: line 2: "soon" is not a duration like 0s, 90s, 5m or 2h`,
		"bare_zero":              `alerting.ladders.warning.repeat: line 5: "0" is not a duration: write it with a unit, like 0s, 90s, 5m or 2h`,
		"bad_clock":              `alerting.rules.night.start: line 2: "25:00" is not a time of day HH:MM (00:00 to 23:59)`,
		"fall_hold_off":          `alerting.rules.fall_hold_off: 15m is outside 0s..2m`,
		"hr_order":               `alerting.rules: hr_low (130) must be below hr_high (40)`,
		"home_hr_over_township":  `alerting.homes.H-0012.rules: hr_low (120) must be below hr_high (110) (over the rules of township 巴伦台镇)`,
		"low_battery":            `alerting.homes.H-0007.rules.low_battery_pct: 150 is not a percentage between 0 and 100`,
		"outage_devices":         `alerting.rules.village_outage.devices: 1 is less than 2`,
		"night_empty":            `alerting.rules.night: start and end are both 06:00`,
		"step_order":             `alerting.ladders.critical.steps[1].after: 2m is earlier than the previous step (3m)`,
		"same_after":             `alerting.ladders.high.steps[1].after: 0s is the same as the previous step: steps must be strictly later`,
		"negative_after":         `alerting.ladders.high.steps[0].after: -1m is negative`,
		"missing_after":          `alerting.ladders.high.steps[1].after: missing`,
		"no_steps":               `alerting.ladders.high.steps: a ladder needs at least one step`,
		"missing_repeat":         `alerting.townships.巴伦台镇.ladders.critical.repeat: missing (write 0s for no repeat)`,
		"short_repeat":           `alerting.ladders.critical.repeat: 30s is shorter than 1m (0s turns repeats off)`,
		"unknown_severity":       `alerting.ladders.urgent: unknown severity "urgent" (critical, high or warning)`,
		"undefined_person":       `undefined person "dr-x" in alerting.ladders.critical.steps[0].notify`,
		"unknown_receiver":       `alerting.ladders.critical.steps[0].notify[1]: unknown receiver "doctor" (family, village_visitor, village_doctor, township_clinic, county_centre or person:<id>)`,
		"repeated_receiver":      `alerting.ladders.critical.steps[0].notify[2]: "family" is listed twice`,
		"empty_notify":           `alerting.ladders.critical.steps[0].notify: names no receiver`,
		"unknown_channel":        `alerting.ladders.warning.steps[0].channels[1]: unknown channel "email" (sms, push or webhook)`,
		"empty_channels":         `alerting.ladders.warning.steps[0].channels: empty (leave the key out for sms)`,
		"quiet_critical":         `alerting.quiet_hours.severities[1]: critical alerts are never held by quiet hours`,
		"quiet_empty":            `alerting.townships.和静镇.quiet_hours: start and end are both 07:00`,
		"county_nobody":          `alerting.ladders.critical.steps[2].notify: pages nobody: county_centre has no phone numbers (set alerting.county_centre, or add a receiver to this step)`,
		"township_county_nobody": `alerting.townships.巴伦台镇.ladders.high.steps[1].notify: pages nobody: county_centre has no phone numbers (set alerting.county_centre, or add a receiver to this step)`,
		"bad_phone":              `alerting.county_centre[1]: "13800000001" is not an international number like +8613800000000`,
		"person_no_name":         `alerting.people.dr-li.name: missing`,
		"rate_limit":             `alerting.rate_limit.per_person: 0 is less than 1`,
		"sms_budget":             `alerting.sms_budget.per_day: 0 is less than 1`,
		"template_parse":         `alerting.templates.page: template: page:1: bad character U+007D '}'`,
		"template_field":         `alerting.templates.taken: template: taken:1:47: executing "taken" at <.Taker>: can't evaluate field Taker in type policy.Message`,
		"template_empty":         `alerting.templates.resolved: empty`,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "conf."+name+".yml"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(b)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if err.Error() != want {
				t.Errorf("error\n got: %s\nwant: %s", err, want)
			}
		})
	}
	// Every error file has its case above.
	files, _ := filepath.Glob("testdata/conf.*.yml")
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "conf."), ".yml")
		if _, ok := cases[name]; !ok && name != "good" {
			t.Errorf("%s has no expected error", f)
		}
	}
}

// forCompare clears what DeepEqual cannot compare: parsed templates (their sources
// are compared instead).
func forCompare(p Policy) Policy {
	p.templates = nil
	return p
}

func TestExampleIsDefault(t *testing.T) {
	b, err := os.ReadFile("testdata/alerting.example.yml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(forCompare(got), forCompare(Default())) {
		t.Errorf("the example does not parse to Default()\n got: %+v\nwant: %+v", got, Default())
	}
}

func TestEmptyIsDefault(t *testing.T) {
	for name, doc := range map[string]string{"empty": "", "comment": "# nothing\n", "null": "~\n",
		"empty blocks": "rules: {}\nladders: {}\ntownships:\n"} {
		t.Run(name, func(t *testing.T) {
			got, err := Parse([]byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(forCompare(got), forCompare(Default())) {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestParseGood(t *testing.T) {
	b, err := os.ReadFile("testdata/conf.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	r := p.RulesFor("", "")
	if r.FallHoldOff != 10*time.Second || r.LowBatteryPct != 20 || r.HRHigh != 130 {
		t.Errorf("global rules = %+v", r)
	}
	if r.Night.Start != 22*time.Hour || r.Night.End != 6*time.Hour {
		t.Errorf("night = %s, want 22:00-06:00 (end kept from the default)", r.Night)
	}
	crit := p.Ladder("", alerting.Critical)
	if crit.Repeat != 5*time.Minute || len(crit.Steps) != 3 {
		t.Fatalf("critical ladder = %+v", crit)
	}
	if s := crit.Steps[1]; !slices.Equal(s.Notify, []alerting.Receiver{"township_clinic", "person:dr-li"}) ||
		!slices.Equal(s.Channels, []string{"sms"}) {
		t.Errorf("critical step 1 = %+v (channels default to sms)", s)
	}
	if got := crit.Steps[2].Channels; !slices.Equal(got, []string{"sms", "webhook"}) {
		t.Errorf("critical step 2 channels = %v", got)
	}
	if !reflect.DeepEqual(p.Ladder("", alerting.High), Default().Ladder("", alerting.High)) {
		t.Error("the high ladder is not the default one")
	}
	if got := p.Ladder("巴伦台镇", alerting.Critical); got.Steps[1].After != 2*time.Minute || got.Repeat != 10*time.Minute {
		t.Errorf("township critical ladder = %+v", got)
	}
	if got := p.Ladder("巴伦台镇", alerting.High); !reflect.DeepEqual(got, p.Ladder("", alerting.High)) {
		t.Errorf("township high ladder = %+v, want the global one", got)
	}
	if got, want := p.Limits(), (Limits{PerPerson: 30, Per: time.Hour, SMSPerDay: 8000}); got != want {
		t.Errorf("limits = %+v, want %+v", got, want)
	}
	if got := p.CountyCentre(); !slices.Equal(got, []string{"+8613800000000", "+8613800000001"}) {
		t.Errorf("county centre = %v", got)
	}
	if name, phone, ok := p.Person("ma.ayi"); !ok || name != "马阿姨" || phone != "+8613900000022" {
		t.Errorf("person ma.ayi = %q %q %v", name, phone, ok)
	}
	if _, _, ok := p.Person("dr-x"); ok {
		t.Error("person dr-x found")
	}
	if got := p.Townships(); !slices.Equal(got, []string{"和静镇", "巴伦台镇"}) {
		t.Errorf("townships = %v", got)
	}
	msg, err := p.Render(PurposeTaken, Message{Code: "K7M2", Village: "哈尔莫墩村", Home: "H-0012", Kind: "sos", By: "李医生"})
	if want := "【巴州家庭养老床位】K7M2 哈尔莫墩村H-0012紧急呼叫由李医生处理。"; err != nil || msg != want {
		t.Errorf("taken = %q, %v; want %q", msg, err, want)
	}
	if msg, _ := p.Render(PurposePage, sampleMessage); !strings.HasPrefix(msg, "【巴州家庭养老床位】跌倒：哈尔莫墩村王奶奶，03:12") {
		t.Errorf("page kept from the default = %q", msg)
	}
}

func TestParseSection(t *testing.T) {
	file := `data_dir: /var/lib/carebed
mqtt: {url: "tcp://127.0.0.1:1883"}
alerting:
  rules:
    fall_hold_off: 20s
  ladders:
    high: {steps: [{after: 0s, notify: [villag_doctor]}], repeat: 30m}
`
	_, err := ParseSection([]byte(file))
	want := `alerting.ladders.high.steps[0].notify[0]: unknown receiver "villag_doctor" (family, village_visitor, village_doctor, township_clinic, county_centre or person:<id>)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	p, err := ParseSection([]byte(strings.Replace(file, "villag_doctor", "village_doctor", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.RulesFor("", "").FallHoldOff; got != 20*time.Second {
		t.Errorf("fall_hold_off = %s", got)
	}
	_, err = ParseSection([]byte(strings.Replace(file, "fall_hold_off", "fall_holdoff", 1)))
	if want := `alerting.rules: line 5: unknown key "fall_holdoff"`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s (lines of the whole file)", err, want)
	}
	p, err = ParseSection([]byte("data_dir: x\n"))
	if err != nil || !reflect.DeepEqual(forCompare(p), forCompare(Default())) {
		t.Errorf("no alerting key: %v, %+v", err, p)
	}
}

// TestParseNode parses the section as the gateway's Config holds it: a yaml.Node.
func TestParseNode(t *testing.T) {
	var cfg struct {
		Alerting yaml.Node `yaml:"alerting"`
	}
	if err := yaml.Unmarshal([]byte("alerting:\n  rules:\n    hr_hi: 140\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	_, err := ParseNode(&cfg.Alerting)
	if want := `alerting.rules: line 3: unknown key "hr_hi"`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	for name, n := range map[string]*yaml.Node{"nil": nil, "zero": {}, "empty document": {Kind: yaml.DocumentNode},
		"null": {Kind: yaml.ScalarNode, Tag: "!!null", Value: "~"}} {
		p, err := ParseNode(n)
		if err != nil || !reflect.DeepEqual(forCompare(p), forCompare(Default())) {
			t.Errorf("%s node: %v, %+v", name, err, p)
		}
	}
}

// TestEmbedded decodes the policy as the gateway's Config will: a field of a struct
// decoded with KnownFields, with Default() as its default.
func TestEmbedded(t *testing.T) {
	type config struct {
		DataDir  string `yaml:"data_dir"`
		Alerting Policy `yaml:"alerting"`
	}
	decode := func(doc string) (config, error) {
		c := config{Alerting: Default().WithLocation(time.UTC)}
		dec := yaml.NewDecoder(bytes.NewReader([]byte(doc)))
		dec.KnownFields(true)
		return c, dec.Decode(&c)
	}
	c, err := decode("data_dir: x\nalerting:\n  homes:\n    H-0012: {rules: {hr_high: 140}}\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Alerting.RulesFor("", "H-0012").HRHigh; got != 140 {
		t.Errorf("hr_high = %g", got)
	}
	if c.Alerting.Location() != time.UTC {
		t.Errorf("location = %s, want the one set before decoding", c.Alerting.Location())
	}
	c, err = decode("data_dir: x\nalerting:\n")
	if err != nil || c.Alerting.Ladder("", alerting.Critical).Repeat != 10*time.Minute {
		t.Errorf("empty key: %v, %+v", err, c.Alerting)
	}
	c, err = decode("data_dir: x\n")
	if err != nil || c.Alerting.Ladder("", alerting.Critical).Repeat != 10*time.Minute {
		t.Errorf("absent key: %v, %+v", err, c.Alerting)
	}
	_, err = decode("alerting:\n  homes:\n    H-0012: {rulez: {}}\n")
	if want := `alerting.homes.H-0012: line 3: unknown key "rulez"`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	doc := `
ladders:
  critical: &crit
    steps:
      - {after: 0s, notify: [family, village_doctor]}
      - {after: 5m, notify: [township_clinic]}
    repeat: 15m
townships:
  巴伦台镇:
    ladders: {critical: *crit}
    rules: &mountain {fall_hold_off: 30s, no_vitals_after: 90s}
  和静镇:
    rules:
      <<: *mountain
      fall_hold_off: 25s
`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Ladder("巴伦台镇", alerting.Critical); !reflect.DeepEqual(got, p.Ladder("", alerting.Critical)) {
		t.Errorf("aliased ladder = %+v", got)
	}
	if r := p.RulesFor("和静镇", ""); r.FallHoldOff != 25*time.Second || r.NoVitalsAfter != 90*time.Second {
		t.Errorf("merged rules = %+v", r)
	}
	_, err = Parse([]byte("rules: &r {hr_low: 40}\nhomes:\n  H-1:\n    rules:\n      <<: *r\n      hr_lo: 41\n"))
	if want := `alerting.homes.H-1.rules: line 6: unknown key "hr_lo"`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse([]byte("rules:\n  fall_hold_off: [15s\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "alerting: yaml: line ") {
		t.Errorf("error = %v", err)
	}
}

func TestFmtDur(t *testing.T) {
	cases := map[time.Duration]string{0: "0s", 90 * time.Second: "1m30s", 2 * time.Minute: "2m",
		time.Hour: "1h", 90 * time.Minute: "1h30m", 500 * time.Millisecond: "500ms", -time.Minute: "-1m"}
	for d, want := range cases {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%d) = %q, want %q", d, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("a: &a [*a]\nrules: *a\n"))
	f.Add([]byte("rules: {<<: [{hr_low: 40}, {hr_high: 120}]}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		for _, sev := range severities {
			l := p.Ladder("", sev)
			if len(l.Steps) == 0 {
				t.Fatalf("valid policy without a %s ladder", sev)
			}
			l.Due(time.Time{}, time.Time{}.Add(24*time.Hour), 0)
		}
		for _, purpose := range purposes {
			if _, err := p.Render(purpose, sampleMessage); err != nil {
				t.Fatalf("valid policy cannot render %s: %v", purpose, err)
			}
		}
	})
}

func TestStrictValues(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"truncated int", "rules: {offline_heartbeats: 2.5}",
			`alerting.rules.offline_heartbeats: line 1: "2.5" is not a whole number`},
		{"null key", "homes: {~: {rules: {hr_high: 140}}}", `alerting.homes: line 1: a key must be a plain string`},
		{"two documents", "rules: {}\n---\nrules: {hr_low: 30}\n",
			`alerting: line 2: a second YAML document; the section is one document`},
		{"bad second document", "rules: {}\n---\nfoo: [\n", "alerting: yaml: line 3: did not find expected node content"},
		{"hour H:MM", `rules: {night: {start: "7:00"}}`,
			`alerting.rules.night.start: line 1: "7:00" is not a time of day HH:MM (00:00 to 23:59)`},
		{"list as value", "rules: {hr_low: [40]}", `alerting.rules.hr_low: line 1: must be a single value, not a list or mapping`},
		{"merge of a scalar", "rules: {<<: 5}", `alerting.rules: line 1: a merge (<<) needs a mapping`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			if err == nil || err.Error() != c.want {
				t.Errorf("error\n got: %v\nwant: %s", err, c.want)
			}
		})
	}
}
