package protocol

// CmdAckFeedback is the Cmd type that tells a device a responder acknowledged its
// alert, so that it can tell the person "help is coming".
const CmdAckFeedback = "ack_feedback"

// Cmd is a command the gateway publishes on a device's cmd topic.
type Cmd struct {
	V     int    `json:"v"`               // protocol version, 1
	Type  string `json:"type"`            // what to do, e.g. CmdAckFeedback
	Alert string `json:"alert,omitempty"` // short code of the alert concerned
	By    string `json:"by,omitempty"`    // role of the responder, e.g. "village_doctor"
	Text  string `json:"text,omitempty"`  // optional words to show or speak
}

const (
	cV = iota
	cType
	cAlert
	cBy
	cText
)

var cmdNames = []string{"v", "type", "alert", "by", "text"}

// Encode returns c as JSON, in the form DecodeCmd accepts. A zero V is written as
// Version.
func (c Cmd) Encode() []byte {
	if c.V == 0 {
		c.V = Version
	}
	b := make([]byte, 0, 64+len(c.Type)+len(c.Alert)+len(c.By)+len(c.Text))
	b = appendInt(b, `{"v":`, int64(c.V))
	b = appendString(append(b, `,"type":`...), c.Type)
	b = appendOptString(b, `,"alert":`, c.Alert)
	b = appendOptString(b, `,"by":`, c.By)
	b = appendOptString(b, `,"text":`, c.Text)
	return append(b, '}')
}

// EncodeCmd returns c.Encode(), for symmetry with the other encoders.
func EncodeCmd(c Cmd) []byte { return c.Encode() }

// DecodeCmd decodes the payload of a cmd topic, as device firmware does. Its checks
// are those of the device messages: v must be 1, type is required, no unknown or
// duplicate fields, at most MaxMessageSize bytes. It accepts any non-empty type, so
// that firmware can ignore commands it does not know. Every error is an *Error.
func DecodeCmd(b []byte) (Cmd, error) {
	if len(b) > MaxMessageSize {
		return Cmd{}, oversize(len(b), "a cmd", MaxMessageSize)
	}
	d := cmdDecoder{s: newScanner(b)}
	if d.s.top(d.member) {
		d.end()
	}
	if err := d.s.err(); err != nil {
		return Cmd{}, err
	}
	d.c.V = Version
	return d.c, nil
}

type cmdDecoder struct {
	s    scanner
	c    Cmd
	seen uint16
}

func (d *cmdDecoder) member(key []byte) {
	s := &d.s
	id := fieldIndex(cmdNames, key)
	if id < 0 {
		s.unknown(key, "a cmd")
		return
	}
	if !s.claim(&d.seen, id, cmdNames) {
		return
	}
	switch id {
	case cV:
		s.topVersion()
	case cType:
		d.c.Type = s.text("type")
	case cAlert:
		d.c.Alert = s.text("alert")
	case cBy:
		d.c.By = s.text("by")
	case cText:
		d.c.Text = s.text("text")
	}
}

// text reads a string field as a string.
func (s *scanner) text(name string) string {
	v, _ := s.stringValue(name)
	return string(v)
}

func (d *cmdDecoder) end() {
	if d.seen&(1<<cV) == 0 {
		d.s.missingVersion()
	}
	if d.c.Type == "" && d.s.first == nil {
		d.s.missing("type", "every cmd carries a non-empty type, e.g. "+CmdAckFeedback)
	}
}
