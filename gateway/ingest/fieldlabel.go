package ingest

import "sync"

// Bounds of carebed_ingest_unknown_fields_total's field label: a device controls
// the names, so only short plain names get a series of their own, and only the
// first few of them.
const (
	maxFieldLabelLen = 24
	maxFieldLabels   = 32
	otherFieldLabel  = "other"
)

// fieldLabels hands out the field label values: the name itself while it is short,
// plain (a-z, 0-9, '_') and among the first maxFieldLabels names seen, else "other".
type fieldLabels struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

func (l *fieldLabels) label(name string) string {
	if !plainFieldName(name) {
		return otherFieldLabel
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[name]; ok {
		return name
	}
	if len(l.seen) >= maxFieldLabels {
		return otherFieldLabel
	}
	if l.seen == nil {
		l.seen = make(map[string]struct{})
	}
	l.seen[name] = struct{}{}
	return name
}

// plainFieldName reports whether name is 1..maxFieldLabelLen of a-z, 0-9 and '_',
// and not the label "other" itself.
func plainFieldName(name string) bool {
	if name == "" || len(name) > maxFieldLabelLen || name == otherFieldLabel {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
