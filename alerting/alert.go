// Package alerting turns device events and conditions into alerts and gets a person
// to the home: it routes alerts by severity, escalates until someone acknowledges, and
// keeps an audit trail. It never imports the gateway: the few things it needs (who to
// reach for a home) are interfaces declared here and implemented by the gateway.
package alerting

import (
	"context"
	"strings"
	"time"
)

// Severity orders how urgently a person must go.
type Severity string

// Severities, most urgent first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Warning  Severity = "warning"
)

// Kind is what an alert is about.
type Kind string

// Alert kinds.
const (
	KindSOS              Kind = "sos"
	KindFall             Kind = "fall"
	KindSmoke            Kind = "smoke"
	KindGas              Kind = "gas"
	KindWaterLeak        Kind = "water_leak"
	KindNoVitals         Kind = "no_vitals"
	KindBedExitProlonged Kind = "bed_exit_prolonged"
	KindVitalsAbnormal   Kind = "vitals_abnormal"
	KindInactivity       Kind = "inactivity"
	KindDeviceOffline    Kind = "device_offline"
	KindLowBattery       Kind = "low_battery"
	KindTamper           Kind = "tamper"
	KindVillageOutage    Kind = "village_outage"
)

// Located reports whether the texts about an alert of kind k say where its device
// last was when it is away from home: an SOS or a fall (where to go), and a device
// gone offline (where and when it was last heard of, for a herder's pendant out of
// coverage).
func (k Kind) Located() bool { return k == KindSOS || k == KindFall || k == KindDeviceOffline }

// State is where an alert is in its life.
type State string

// Alert states: pending (held during a cancel hold-off, nobody paged yet), open,
// notified (someone was paged), acknowledged (someone is going), resolved.
const (
	StatePending      State = "pending"
	StateOpen         State = "open"
	StateNotified     State = "notified"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
)

// Outcome says how a resolved alert ended.
type Outcome string

// Outcomes.
const (
	OutcomeCancelled     Outcome = "cancelled" // cancelled by the device inside the hold-off
	OutcomeFalseAlarm    Outcome = "false_alarm"
	OutcomeHandledAtHome Outcome = "handled_at_home"
	OutcomeReferred      Outcome = "referred_to_clinic"
	OutcomeHospital      Outcome = "sent_to_hospital"
	OutcomeAutoResolved  Outcome = "auto_resolved" // the condition ended (device back online)
	OutcomeGrouped       Outcome = "grouped"       // folded into a village outage alert
)

// Place locates an alert; ids and place names only, never a person's name.
type Place struct {
	County, Township, Village, Home string
}

// VillagePrefix marks the Home of a village-wide alert (a village outage), which
// belongs to no single home.
const VillagePrefix = "village:"

// VillagePlace is the place of a village-wide alert in p's village.
func VillagePlace(p Place) Place {
	return Place{County: p.County, Township: p.Township, Village: p.Village,
		Home: VillagePrefix + p.County + "/" + p.Township + "/" + p.Village}
}

// VillageWide reports whether the place is a whole village rather than a home.
func (p Place) VillageWide() bool { return strings.HasPrefix(p.Home, VillagePrefix) }

// Alert is one alert. At most one is open per (home, kind); repeats update it.
type Alert struct {
	ID     int64
	Code   string // short code people reply with by SMS, e.g. "K7M2"
	Kind   Kind
	Sev    Severity
	State  State
	Place  Place
	Device string
	// EventAt is the device's time of the event that raised it; LateBy how late the
	// event arrived (0 when on time).
	EventAt    time.Time
	LateBy     time.Duration
	OpenedAt   time.Time
	NotifiedAt time.Time
	AckedAt    time.Time
	ResolvedAt time.Time
	// AckedBy is the person id that took the alert, AckChannel how (sms, api, mqtt).
	AckedBy    string
	AckChannel string
	Outcome    Outcome
	Note       string
	// Repeats counts the events that updated the open alert after it was raised.
	Repeats int
}

// Open reports whether the alert still needs someone.
func (a Alert) Open() bool { return a.State != StateResolved }

// Receiver names who a ladder step pages: a role around the home, or a named person
// ("person:<id>").
type Receiver string

// Receivers by role.
const (
	ReceiverFamily         Receiver = "family"
	ReceiverVillageVisitor Receiver = "village_visitor"
	ReceiverVillageDoctor  Receiver = "village_doctor"
	ReceiverTownshipClinic Receiver = "township_clinic"
	ReceiverCountyCentre   Receiver = "county_centre"
)

// Person is someone who can be paged. Phone and Name are personal data: they go to
// the notifier and nowhere else (not to logs, metrics or InfluxDB).
type Person struct {
	// ID is stable and carries no personal data, e.g. "H-0012/family/1".
	ID    string
	Role  Receiver
	Name  string
	Phone string
	// Responder is the person's responder-app id for MQTT push, if any.
	Responder string
}

// Directory resolves receivers to the people to page for an alert's place. The
// gateway's registry implements it.
type Directory interface {
	// People returns who to page for receiver r at place p, in paging order.
	People(ctx context.Context, p Place, r Receiver) ([]Person, error)
	// Person finds someone by id, ok=false when unknown.
	Person(ctx context.Context, id string) (Person, bool, error)
	// PeopleByPhone finds everyone with this phone number (an SMS reply): a village
	// doctor is a contact of many homes, under one id per home.
	PeopleByPhone(ctx context.Context, phone string) ([]Person, error)
	// Elder returns how the home's elder is named in messages ("" when unknown).
	Elder(ctx context.Context, p Place) (string, error)
}
