package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The types below mirror the YAML. Every leaf is a pointer or a nil-able slice, so that
// "absent" (keep the default, or the township's value) differs from any value.

// fileConfig is the alerting section.
type fileConfig struct {
	Rules        rulesConfig             `yaml:"rules"`
	Ladders      map[string]ladderConfig `yaml:"ladders"`
	QuietHours   quietConfig             `yaml:"quiet_hours"`
	RateLimit    rateConfig              `yaml:"rate_limit"`
	SMSBudget    budgetConfig            `yaml:"sms_budget"`
	CountyCentre []string                `yaml:"county_centre"`
	People       map[string]personConfig `yaml:"people"`
	Townships    map[string]townConfig   `yaml:"townships"`
	Homes        map[string]homeConfig   `yaml:"homes"`
	Templates    templatesConfig         `yaml:"templates"`
	Visits       visitsConfig            `yaml:"visits"`
	Nearby       nearbyConfig            `yaml:"nearby"`
	Report       reportConfig            `yaml:"report"`
}

// townConfig overrides the rules, replaces ladders and adjusts quiet hours for one
// township.
type townConfig struct {
	Rules      rulesConfig             `yaml:"rules"`
	Ladders    map[string]ladderConfig `yaml:"ladders"`
	QuietHours quietConfig             `yaml:"quiet_hours"`
}

// homeConfig overrides the rules for one home.
type homeConfig struct {
	Rules rulesConfig `yaml:"rules"`
}

type quietConfig struct {
	Start      *clock    `yaml:"start"`
	End        *clock    `yaml:"end"`
	Severities *[]string `yaml:"severities"`
}

type rateConfig struct {
	PerPerson *int           `yaml:"per_person"`
	Per       *time.Duration `yaml:"per"`
}

type budgetConfig struct {
	PerDay *int `yaml:"per_day"`
}

type personConfig struct {
	Name  string `yaml:"name"`
	Phone string `yaml:"phone"`
}

type templatesConfig struct {
	Page     *string `yaml:"page"`
	Taken    *string `yaml:"taken"`
	Resolved *string `yaml:"resolved"`
	// Escalated, Family, Cancelled and HandOver: the texts by audience (template.go).
	Escalated *string `yaml:"escalated"`
	Family    *string `yaml:"family"`
	Cancelled *string `yaml:"cancelled"`
	HandOver  *string `yaml:"handover"`
	Nearby    *string `yaml:"nearby"`
}

// Parse reads a YAML document whose top level is the alerting section (the keys rules,
// ladders, quiet_hours, ...). Absent keys keep their Default; an empty document gives
// Default(). Errors name the key path from "alerting." and, for keys, types and
// unparsable values, the line; the first problem found is returned.
func Parse(b []byte) (Policy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc, more yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return Policy{}, fmt.Errorf("alerting: %w", err)
	}
	switch err := dec.Decode(&more); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return Policy{}, fmt.Errorf("alerting: %w", err)
	default:
		return Policy{}, fmt.Errorf("alerting: line %d: a second YAML document; the section is one document", more.Line)
	}
	if len(doc.Content) == 0 {
		return Default(), nil
	}
	return parseNode(doc.Content[0])
}

// ParseSection reads a whole gateway configuration file and parses its top-level
// "alerting:" key as Parse does, ignoring the other keys (they are the gateway's); a
// file without that key gives Default(). Line numbers are those of the whole file.
func ParseSection(b []byte) (Policy, error) {
	var doc struct {
		Alerting yaml.Node `yaml:"alerting"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return Policy{}, fmt.Errorf("alerting: %w", err)
	}
	if doc.Alerting.Kind == 0 {
		return Default(), nil
	}
	return parseNode(&doc.Alerting)
}

// ParseNode parses the alerting section already read as a yaml.Node (the gateway's
// Config keeps it so), as Parse does, with the node's line numbers. A nil or zero node
// (the key was absent) gives Default().
func ParseNode(n *yaml.Node) (Policy, error) {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil || n.Kind == 0 || n.Kind == yaml.DocumentNode {
		return Default(), nil
	}
	return parseNode(n)
}

// UnmarshalYAML lets the gateway's Config hold a Policy under "alerting:"; it parses as
// Parse does, with the same strictness whatever the enclosing decoder's, and keeps p's
// time zone. The enclosing Config's default should be Default(): an absent key does not
// call this method.
func (p *Policy) UnmarshalYAML(n *yaml.Node) error {
	q, err := parseNode(n)
	if err != nil {
		return err
	}
	*p = q.WithLocation(p.loc)
	return nil
}

// parseNode checks, decodes and builds the policy from the alerting section's node.
func parseNode(n *yaml.Node) (Policy, error) {
	var c fileConfig
	s := strict{budget: checkBudget}
	if err := s.check(n, reflect.TypeFor[fileConfig](), "alerting"); err != nil {
		return Policy{}, err
	}
	if err := n.Decode(&c); err != nil {
		return Policy{}, fmt.Errorf("alerting: %w", err)
	}
	return build(c)
}

// clock is a time of day written "HH:MM", held as the time since midnight.
type clock time.Duration

// UnmarshalYAML parses "HH:MM", 00:00 to 23:59.
func (c *clock) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseClock(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("%s is not a time of day HH:MM (00:00 to 23:59)", show(n))
	}
	*c = clock(v)
	return nil
}

func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// fmtClock writes a time since midnight as HH:MM.
func fmtClock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// fmtDur writes a duration as people write it in the file: 2m rather than 2m0s.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
