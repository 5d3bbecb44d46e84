package protocol

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// skip reads over one JSON value of any kind, checking its syntax.
func (s *scanner) skip() {
	var open []byte // '{' or '[' of each container being read
	for s.syn == nil {
		s.ws()
		switch c := s.peek(); c {
		case '{', '[':
			if s.depth+len(open) >= maxDepth {
				s.syntax("arrays and objects are nested deeper than %d levels", maxDepth)
				return
			}
			s.i++
			s.ws()
			if s.peek() != closer(c) {
				open = append(open, c)
				if c == '[' || s.skipKey() {
					continue // read the first element's value
				}
				return
			}
			s.i++
		case '"':
			s.str()
		case 't':
			s.literal("true")
		case 'f':
			s.literal("false")
		case 'n':
			s.literal("null")
		default:
			s.number()
		}
		if !s.afterValue(&open) {
			return
		}
	}
}

func (s *scanner) skipKey() bool {
	_, ok := s.key()
	return ok
}

func closer(open byte) byte {
	if open == '{' {
		return '}'
	}
	return ']'
}

// afterValue reads what follows a value inside the containers in open: closing
// brackets, then a ',' (and the next key in an object). It returns true when another
// value is to be read, false when the outermost value is complete or on error.
func (s *scanner) afterValue(open *[]byte) bool {
	for s.syn == nil && len(*open) > 0 {
		s.ws()
		top := (*open)[len(*open)-1]
		switch s.peek() {
		case closer(top):
			s.i++
			*open = (*open)[:len(*open)-1]
		case ',':
			s.i++
			return top == '[' || s.skipKey()
		default:
			s.unexpected("',' or '" + string(closer(top)) + "'")
			return false
		}
	}
	return false
}

// badType skips the value at s.i and records that name should have been want.
func (s *scanner) badType(name, want string) {
	start := s.i
	s.skip()
	if s.syn == nil && s.first == nil {
		s.failf(ReasonBadType, name, "must be %s, got %s", want, describe(s.b[start:s.i]))
	}
}

// describe names a JSON value for an error message: its text, shortened.
func describe(v []byte) string {
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return short(v)
}

// short returns at most 40 bytes of b, marking a cut with "...".
func short(b []byte) string {
	if len(b) <= 40 {
		return string(b)
	}
	cut := 37
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "..."
}

// numberToken reads the number at s.i, or records a bad_type error for name.
func (s *scanner) numberToken(name, want string) ([]byte, bool) {
	if c := s.peek(); c == '-' || (c >= '0' && c <= '9') {
		return s.number()
	}
	s.badType(name, want)
	return nil, false
}

// intSpec is the range of an integer field.
type intSpec struct {
	name     string
	min, max uint64
	unit     string // e.g. " seconds", with its leading space
}

// intValue reads a non-negative integer field within sp's range.
func (s *scanner) intValue(sp *intSpec) (uint64, bool) {
	tok, ok := s.numberToken(sp.name, "an integer")
	if !ok {
		return 0, false
	}
	for _, c := range tok {
		if c == '.' || c == 'e' || c == 'E' {
			s.failf(ReasonBadType, sp.name, "must be an integer, got %s", short(tok))
			return 0, false
		}
	}
	v, ok := parseUint(tok)
	if !ok || v < sp.min || v > sp.max {
		s.failf(ReasonOutOfRange, sp.name, "%s is outside %d..%d%s", short(tok), sp.min, sp.max, sp.unit)
		return 0, false
	}
	return v, true
}

// parseUint parses decimal digits; it fails on a sign or on overflow.
func parseUint(tok []byte) (uint64, bool) {
	if tok[0] == '-' {
		return 0, false
	}
	var v uint64
	for _, c := range tok {
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// floatSpec is the range of a number field.
type floatSpec struct {
	name     string
	min, max float64
	unit     string // with its leading space, or ""
}

// floatValue reads a number field within sp's range.
func (s *scanner) floatValue(sp *floatSpec) (float64, bool) {
	tok, ok := s.numberToken(sp.name, "a number")
	if !ok {
		return 0, false
	}
	v, err := parseFloat(tok)
	if err != nil || v < sp.min || v > sp.max {
		s.failf(ReasonOutOfRange, sp.name, "%s is outside %g..%g%s", short(tok), sp.min, sp.max, sp.unit)
		return 0, false
	}
	return v, true
}

// parseFloat parses a JSON number. Integers of up to 15 digits, the common case,
// are converted directly: they are exact in a float64.
func parseFloat(tok []byte) (float64, error) {
	digits, neg := tok, false
	if tok[0] == '-' {
		digits, neg = tok[1:], true
	}
	if len(digits) > 15 {
		return strconv.ParseFloat(string(tok), 64)
	}
	var v int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return strconv.ParseFloat(string(tok), 64)
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		return -float64(v), nil
	}
	return float64(v), nil
}

// boolValue reads a true/false field.
func (s *scanner) boolValue(name string) (bool, bool) {
	switch s.peek() {
	case 't':
		return true, s.literal("true")
	case 'f':
		return false, s.literal("false")
	}
	s.badType(name, "true or false")
	return false, false
}

// stringValue reads a string field; the result is valid until the next string is read.
func (s *scanner) stringValue(name string) ([]byte, bool) {
	if s.peek() != '"' {
		s.badType(name, "a string")
		return nil, false
	}
	return s.str()
}

// version reads v and reports whether it is exactly the number 1.
func (s *scanner) version() (*Error, bool) {
	start := s.i
	s.skip()
	if s.syn != nil || string(s.b[start:s.i]) == "1" {
		return nil, s.syn == nil
	}
	return &Error{Reason: ReasonBadVersion, Field: s.field("v"),
		Msg: "got " + describe(s.b[start:s.i]) + "; this gateway speaks protocol v1: send \"v\":1"}, false
}

// topVersion reads the top-level v; a bad one outranks every field error.
func (s *scanner) topVersion() {
	if e, _ := s.version(); e != nil && s.ver == nil {
		s.ver = e
	}
}

// missingVersion records that the top-level v is absent.
func (s *scanner) missingVersion() {
	if s.ver == nil {
		s.ver = &Error{Reason: ReasonBadVersion, Field: "v",
			Msg: "missing; every message starts with \"v\":1 (protocol v1)"}
	}
}

// unknown skips the value of key and records that key is not a field here.
func (s *scanner) unknown(key []byte, where string) {
	if s.first != nil {
		s.skip()
		return
	}
	name, quoted := fieldName(key), strconv.Quote(short(key))
	s.skip()
	s.failf(ReasonUnknownField, name, "%s has no field %s; check the spelling (field names are lower case)", where, quoted)
}

// fieldName returns key for use as Error.Field: shortened, and quoted unless it is
// made of letters, digits, '_', '-' and '.' only.
func fieldName(key []byte) string {
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return strconv.Quote(short(key))
		}
	}
	if len(key) == 0 {
		return `""`
	}
	return short(key)
}

// fieldIndex returns the index of key in names, or -1.
func fieldIndex(names []string, key []byte) int {
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	return -1
}

// claim marks field id as seen. When it was seen before, claim skips the value,
// records a duplicate_field error and returns false.
func (s *scanner) claim(seen *uint16, id int, names []string) bool {
	if *seen&(1<<id) != 0 {
		s.duplicate(names[id])
		return false
	}
	*seen |= 1 << id
	return true
}

// duplicate skips the value of a field seen before and records it.
func (s *scanner) duplicate(name string) {
	s.skip()
	s.failf(ReasonDuplicateField, name, "appears twice in one object; send each field once")
}

// missing records a required field that is absent.
func (s *scanner) missing(name, why string) {
	s.failf(ReasonMissingField, name, "missing; %s", why)
}

// newFloat returns a pointer to v in a slab shared by one message's readings.
func (s *scanner) newFloat(v float64) *float64 {
	if len(s.fl) == cap(s.fl) {
		s.fl = make([]float64, 0, min(max(6, 2*cap(s.fl)), 1536))
	}
	s.fl = append(s.fl, v)
	return &s.fl[len(s.fl)-1]
}

// newBool returns a pointer to v in a slab shared by one message's readings.
func (s *scanner) newBool(v bool) *bool {
	if len(s.bl) == cap(s.bl) {
		s.bl = make([]bool, 0, min(max(1, 4*cap(s.bl)), 256))
	}
	s.bl = append(s.bl, v)
	return &s.bl[len(s.bl)-1]
}
