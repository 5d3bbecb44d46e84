package visits

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// Kind is what a check-in records: a visit (探访) or a doctor's round (巡诊).
type Kind string

// Kinds of check-in.
const (
	KindVisit Kind = "visit"
	KindRound Kind = "round"
)

// Chinese returns the kind's Chinese word.
func (k Kind) Chinese() string {
	if k == KindRound {
		return "巡诊"
	}
	return "探访"
}

// State is how the visitor found the elder: 好, 一般 or 差 ("" when not given).
type State string

// States of the elder.
const (
	StateGood State = "good" // 好
	StateFair State = "fair" // 一般
	StatePoor State = "poor" // 差
)

var stateWords = map[string]State{"好": StateGood, "一般": StateFair, "差": StatePoor}

// Vitals are what a doctor measured on a round; nil fields were not given.
type Vitals struct {
	SBP, DBP *int     // blood pressure, mmHg (血压 高压/低压)
	Glucose  *float64 // blood glucose, mmol/L (血糖)
	HR       *int     // heart rate, beats per minute (心率)
}

// Message is a check-in SMS read: its kind, the home code as written (a home id or
// the digits of one), the state, the vitals and the note (the rest of the text).
type Message struct {
	Kind   Kind
	Code   string
	State  State
	Vitals Vitals
	Note   string
}

// InputError is a check-in that cannot be recorded: Reason is a short word for the
// metric (carebed_visits_rejected_total), Answer the one-line SMS that says what was
// wrong, in Chinese.
type InputError struct {
	Reason string
	Answer string
}

func (e *InputError) Error() string { return "visits: " + e.Reason }

// maxNoteRunes bounds a note.
const maxNoteRunes = 200

// Vital ranges accepted: outside them a number is a typing mistake.
const (
	minSBP, maxSBP         = 60, 260
	minDBP, maxDBP         = 30, 160
	minHR, maxHR           = 30, 220
	minGlucose, maxGlucose = 1.0, 35.0
)

// ParseSMS reads a check-in SMS: "到 H-0001 [好|一般|差] [note]" for a visit (探访
// works as well as 到), "巡诊 H-0001 [血压135/85] [血糖6.2] [心率72] [好|一般|差] [note]"
// for a round. Full-width letters, digits and punctuation are read as their ASCII
// forms. taken is false when the text is not a check-in (an alert reply); err is an
// *InputError when it is one but cannot be recorded.
func ParseSMS(body string) (m Message, taken bool, err error) {
	s := strings.TrimSpace(width.Fold.String(body))
	switch {
	case strings.HasPrefix(s, "巡诊"):
		m.Kind, s = KindRound, strings.TrimPrefix(s, "巡诊")
	case strings.HasPrefix(s, "探访"):
		m.Kind, s = KindVisit, strings.TrimPrefix(s, "探访")
	case strings.HasPrefix(s, "到"):
		m.Kind, s = KindVisit, strings.TrimPrefix(s, "到")
	default:
		return m, false, nil
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == ',' || r == ';' || r == '、' })
	if len(fields) == 0 {
		return m, true, &InputError{Reason: "no_home", Answer: "请写户编号，例如：" + exampleFor(m.Kind)}
	}
	m.Code = fields[0]
	if !validCode(m.Code) {
		return m, true, &InputError{Reason: "bad_home", Answer: "户编号“" + clip(m.Code, 12) + "”不对，例如：" + exampleFor(m.Kind)}
	}
	return m, true, m.readRest(fields[1:])
}

// exampleFor is the example of a check-in SMS of kind k.
func exampleFor(k Kind) string {
	if k == KindRound {
		return "巡诊 H-0001 血压135/85 血糖6.2 心率72"
	}
	return "到 H-0001 好"
}

// validCode reports whether a home code is plausible: letters, digits and '-'.
func validCode(c string) bool {
	if len(c) > 64 {
		return false
	}
	for _, r := range c {
		if !(r == '-' || r == '_' || r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// readRest reads the words after the home code: state, vitals, then the note.
func (m *Message) readRest(words []string) error {
	for i := 0; i < len(words); i++ {
		w := words[i]
		if st, ok := stateWords[w]; ok && m.State == "" {
			m.State = st
			continue
		}
		name, ok := vitalName(w)
		if !ok {
			m.Note = clip(strings.Join(words[i:], " "), maxNoteRunes)
			return nil
		}
		value := strings.TrimLeft(strings.TrimPrefix(w, name), ":=")
		if value == "" && i+1 < len(words) { // "血压 135/85"
			i++
			value = words[i]
		}
		if err := m.Vitals.set(name, value); err != nil {
			return err
		}
	}
	return nil
}

// vitalName returns the vital a word starts with.
func vitalName(w string) (string, bool) {
	for _, n := range []string{"血压", "血糖", "心率"} {
		if strings.HasPrefix(w, n) {
			return n, true
		}
	}
	return "", false
}

// set reads one vital's value, checking its range.
func (v *Vitals) set(name, value string) error {
	bad := func(want string) error {
		return &InputError{Reason: "bad_vital", Answer: name + "“" + clip(value, 12) + "”不对，" + want + "。未登记，请改正后重发。"}
	}
	switch name {
	case "血压":
		hi, lo, ok := strings.Cut(value, "/")
		sbp, err1 := strconv.Atoi(hi)
		dbp, err2 := strconv.Atoi(lo)
		if !ok || err1 != nil || err2 != nil || sbp < minSBP || sbp > maxSBP || dbp < minDBP || dbp > maxDBP || dbp >= sbp {
			return bad("请写高压/低压，如135/85")
		}
		v.SBP, v.DBP = &sbp, &dbp
	case "血糖":
		g, err := strconv.ParseFloat(strings.TrimSuffix(value, "mmol/L"), 64)
		if err != nil || !(g >= minGlucose && g <= maxGlucose) {
			return bad("请写1到35的数，如6.2")
		}
		v.Glucose = &g
	case "心率":
		hr, err := strconv.Atoi(strings.TrimSuffix(value, "次"))
		if err != nil || hr < minHR || hr > maxHR {
			return bad("请写30到220的数，如72")
		}
		v.HR = &hr
	}
	return nil
}

// Text writes the vitals given as the SMS writes them, "" for none.
func (v Vitals) Text() string {
	var parts []string
	if v.SBP != nil {
		parts = append(parts, "血压"+strconv.Itoa(*v.SBP)+"/"+strconv.Itoa(*v.DBP))
	}
	if v.Glucose != nil {
		parts = append(parts, "血糖"+strconv.FormatFloat(*v.Glucose, 'f', -1, 64))
	}
	if v.HR != nil {
		parts = append(parts, "心率"+strconv.Itoa(*v.HR))
	}
	return strings.Join(parts, " ")
}

// clip shortens s to at most n runes.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// ParseVitals reads the vitals of a form: blood pressure "135/85", glucose "6.2"
// (mmol/L), heart rate "72"; a blank field is not given. Errors are *InputError.
func ParseVitals(bp, glucose, hr string) (Vitals, error) {
	var v Vitals
	for _, f := range []struct{ name, value string }{{"血压", bp}, {"血糖", glucose}, {"心率", hr}} {
		value := strings.TrimSpace(width.Fold.String(f.value))
		if value == "" {
			continue
		}
		if err := v.set(f.name, value); err != nil {
			return Vitals{}, err
		}
	}
	return v, nil
}

// ParseState reads 好, 一般 or 差 (or good, fair, poor); "" is no state.
func ParseState(s string) (State, bool) {
	switch s = strings.TrimSpace(s); s {
	case "", string(StateGood), string(StateFair), string(StatePoor):
		return State(s), true
	}
	st, ok := stateWords[s]
	return st, ok
}

// Chinese returns the state's Chinese word.
func (s State) Chinese() string {
	for w, st := range stateWords {
		if st == s {
			return w
		}
	}
	return ""
}
