package protocol

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects, as encoding/json does.
const maxDepth = 10000

// scanner reads one JSON payload without reflection. A syntax error stops it (syn);
// a field error is remembered (the first in document order wins) and reading goes on,
// so that a syntax error later in the payload still takes precedence and the reported
// reason does not depend on where the damage is.
type scanner struct {
	b     []byte
	i     int
	syn   *Error // syntax error: reading stops
	ver   *Error // bad or missing top-level v: outranks field errors
	first *Error // first field error in document order
	elem  int    // index of the batch element being read, -1 outside a batch
	depth int    // arrays and objects open around s.i
	buf   []byte // unescaped string, valid until the next string is read
	fl    []float64
	bl    []bool
}

func newScanner(b []byte) scanner { return scanner{b: b, elem: -1} }

// err returns the error to report, most important first.
func (s *scanner) err() error {
	switch {
	case s.syn != nil:
		return s.syn
	case s.ver != nil:
		return s.ver
	case s.first != nil:
		return s.first
	}
	return nil
}

// field names a field of the object being read, with its batch element if any.
func (s *scanner) field(name string) string {
	if s.elem < 0 {
		return name
	}
	prefix := "batch[" + strconv.Itoa(s.elem) + "]"
	if name == "" {
		return prefix
	}
	return prefix + "." + name
}

// failf records a field error unless an earlier one is already recorded.
func (s *scanner) failf(r Reason, name, format string, args ...any) {
	if s.first == nil {
		s.first = &Error{Reason: r, Field: s.field(name), Msg: fmt.Sprintf(format, args...)}
	}
}

func (s *scanner) syntax(format string, args ...any) {
	if s.syn == nil {
		s.syn = &Error{Reason: ReasonBadJSON, Msg: fmt.Sprintf(format, args...)}
	}
}

// unexpected records a syntax error at s.i, saying what was expected there.
func (s *scanner) unexpected(want string) {
	if s.i >= len(s.b) {
		s.syntax("payload ends at byte %d where %s was expected", len(s.b), want)
		return
	}
	s.syntax("unexpected %s at byte %d, expected %s", describeByte(s.b[s.i]), s.i, want)
}

func describeByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// peek returns the byte at s.i, or 0 at the end of the payload.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// expect consumes c, or records a syntax error.
func (s *scanner) expect(c byte, want string) bool {
	if s.peek() != c {
		s.unexpected(want)
		return false
	}
	s.i++
	return true
}

// top reads the whole payload: one JSON object, read by member, then only
// whitespace. It reports whether the payload held an object.
func (s *scanner) top(member func(key []byte)) bool {
	s.ws()
	if s.i == len(s.b) {
		s.syntax("payload is empty; a message is one JSON object")
		return false
	}
	isObject := s.peek() == '{'
	if isObject {
		s.object(member)
	} else {
		s.badType("", "a JSON object")
		if s.first != nil {
			s.first.Msg = "the payload " + s.first.Msg
		}
	}
	s.ws()
	if s.syn == nil && s.i < len(s.b) {
		s.syntax("unexpected %s at byte %d after the end of the JSON object", describeByte(s.b[s.i]), s.i)
	}
	return isObject && s.syn == nil
}

// object reads the object at s.i (which is '{'), calling member for each key with s.i
// at the value; member must read the value, e.g. with skip. key is valid only until
// the next string is read.
func (s *scanner) object(member func(key []byte)) {
	s.depth++
	s.members(member)
	s.depth--
}

func (s *scanner) members(member func(key []byte)) {
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		return
	}
	for {
		key, ok := s.key()
		if !ok {
			return
		}
		member(key)
		if s.syn != nil {
			return
		}
		s.ws()
		if s.peek() == '}' {
			s.i++
			return
		}
		if !s.expect(',', "',' or '}'") {
			return
		}
	}
}

// key reads `"name":` and leaves s.i at the value.
func (s *scanner) key() ([]byte, bool) {
	s.ws()
	if s.peek() != '"' {
		s.unexpected("'\"' starting a field name")
		return nil, false
	}
	key, ok := s.str()
	if !ok {
		return nil, false
	}
	s.ws()
	if !s.expect(':', "':' after a field name") {
		return nil, false
	}
	s.ws()
	return key, true
}

// number reads a JSON number at s.i and returns its text.
func (s *scanner) number() ([]byte, bool) {
	start := s.i
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		s.unexpected("a digit")
		return nil, false
	}
	if s.peek() == '.' {
		s.i++
		if !s.digits() {
			return nil, false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return nil, false
		}
	}
	return s.b[start:s.i], true
}

// digits reads one or more decimal digits.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == start {
		s.unexpected("a digit")
		return false
	}
	return true
}

// literal reads true, false or null.
func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return true
	}
	s.unexpected("true, false or null")
	return false
}

// str reads the JSON string at s.i (which is '"') and returns its content, unescaped.
// The result is valid only until the next string is read.
func (s *scanner) str() ([]byte, bool) {
	s.i++
	start := s.i
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.b[start : s.i-1], true
		case c == '\\':
			s.buf = append(s.buf[:0], s.b[start:s.i]...)
			return s.unescape()
		case c < 0x20:
			s.unexpected("a character (control characters must be escaped)")
			return nil, false
		case c < utf8.RuneSelf:
			s.i++
		default:
			if !s.utf8() {
				return nil, false
			}
		}
	}
	s.unexpected("'\"' closing the string")
	return nil, false
}

// utf8 steps over one multi-byte UTF-8 character, appending nothing.
func (s *scanner) utf8() bool {
	r, n := utf8.DecodeRune(s.b[s.i:])
	if r == utf8.RuneError && n == 1 {
		s.syntax("byte 0x%02x at byte %d is not valid UTF-8", s.b[s.i], s.i)
		return false
	}
	s.i += n
	return true
}

// unescape reads the rest of a string containing escapes into s.buf.
func (s *scanner) unescape() ([]byte, bool) {
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return s.buf, true
		case c == '\\':
			if !s.escape() {
				return nil, false
			}
		case c < 0x20:
			s.unexpected("a character (control characters must be escaped)")
			return nil, false
		case c < utf8.RuneSelf:
			s.buf = append(s.buf, c)
			s.i++
		default:
			start := s.i
			if !s.utf8() {
				return nil, false
			}
			s.buf = append(s.buf, s.b[start:s.i]...)
		}
	}
	s.unexpected("'\"' closing the string")
	return nil, false
}

var escapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// escape reads one escape sequence at s.i (which is '\\') into s.buf.
func (s *scanner) escape() bool {
	s.i++
	c := s.peek()
	if c == 'u' {
		return s.unicode()
	}
	if escapes[c] == 0 {
		s.unexpected("an escape character (one of \"\\/bfnrtu)")
		return false
	}
	s.buf = append(s.buf, escapes[c])
	s.i++
	return true
}

// unicode reads \uXXXX (s.i at 'u'), joining a UTF-16 surrogate pair when one
// follows; a lone surrogate becomes U+FFFD, as in encoding/json.
func (s *scanner) unicode() bool {
	r, ok := hex4(s.b[s.i+1:])
	if !ok {
		s.i++
		s.unexpected("4 hex digits after \\u")
		return false
	}
	s.i += 5
	if utf16.IsSurrogate(r) {
		r2, ok := rune(-1), false
		if len(s.b)-s.i >= 6 && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
			r2, ok = hex4(s.b[s.i+2:])
		}
		if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
			s.i += 6
			r = dec
		} else {
			r = utf8.RuneError
		}
	}
	s.buf = utf8.AppendRune(s.buf, r)
	return true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
