package protocol

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// EncodeReading returns r as the payload of a telemetry topic, with "v":1. Fields
// are written in a fixed order; nil fields and a zero TS are left out. Values outside
// the protocol's ranges are written as they are, and Decode rejects them.
func EncodeReading(r Reading) []byte {
	b := make([]byte, 0, 192)
	b = append(b, `{"v":1,`...)
	b = appendReading(b, r)
	return append(b, '}')
}

// EncodeBatch returns rs as a telemetry batch {"v":1,"batch":[...]}; the readings
// carry no v. The caller keeps rs non-empty and the result within MaxBatchSize
// bytes, or Decode rejects it: a reading within the protocol's ranges takes at most
// 280 bytes (390 with a position), so 230 readings (168 with positions) always fit.
func EncodeBatch(rs []Reading) []byte {
	b := make([]byte, 0, 32+128*len(rs))
	b = append(b, `{"v":1,"batch":[`...)
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendReading(b, r)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

// appendReading appends the fields of r, without braces.
func appendReading(b []byte, r Reading) []byte {
	b = appendUint(b, `"seq":`, r.Seq)
	b = appendTS(b, r.TS)
	b = appendFloat(b, `,"battery":`, r.Battery)
	b = appendFloat(b, `,"rssi":`, r.RSSI)
	b = appendFloat(b, `,"hr":`, r.HR)
	b = appendFloat(b, `,"rr":`, r.RR)
	if r.Occupied != nil {
		b = strconv.AppendBool(append(b, `,"occupied":`...), *r.Occupied)
	}
	b = appendFloat(b, `,"motion":`, r.Motion)
	b = appendFloat(b, `,"temp_c":`, r.TempC)
	return appendFix(b, r.Fix)
}

// EncodeEvent returns e as the payload of an event topic. A zero TS and a zero
// Cancels are left out.
func EncodeEvent(e Event) []byte {
	b := make([]byte, 0, 128)
	b = appendUint(b, `{"v":1,"seq":`, e.Seq)
	b = appendTS(b, e.TS)
	b = appendString(append(b, `,"type":`...), string(e.Type))
	b = appendFloat(b, `,"confidence":`, e.Confidence)
	if e.Cancels != 0 {
		b = appendUint(b, `,"cancels":`, e.Cancels)
	}
	b = appendFix(b, e.Fix)
	return append(b, '}')
}

// EncodeStatus returns s as the payload of a status topic; zero Seq, TS, FW and
// HeartbeatS are left out, so the zero Status encodes to the Last Will payload
// {"v":1,"online":false}.
func EncodeStatus(s Status) []byte {
	b := make([]byte, 0, 128)
	b = strconv.AppendBool(append(b, `{"v":1,"online":`...), s.Online)
	b = appendOptString(b, `,"fw":`, s.FW)
	if s.HeartbeatS != 0 {
		b = appendInt(b, `,"heartbeat_s":`, int64(s.HeartbeatS))
	}
	b = appendTS(b, s.TS)
	if s.Seq != 0 {
		b = appendUint(b, `,"seq":`, s.Seq)
	}
	b = appendFix(b, s.Fix)
	return append(b, '}')
}

func appendUint(b []byte, key string, v uint64) []byte {
	return strconv.AppendUint(append(b, key...), v, 10)
}

func appendInt(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(append(b, key...), v, 10)
}

func appendTS(b []byte, ts int64) []byte {
	if ts == 0 {
		return b
	}
	return appendInt(b, `,"ts":`, ts)
}

func appendFloat(b []byte, key string, f *float64) []byte {
	if f == nil {
		return b
	}
	return appendNumber(append(b, key...), *f)
}

// appendNumber appends f as encoding/json writes it: the shortest text that reads
// back as exactly f, in plain notation unless it is very small or very large. NaN
// and infinities, which JSON cannot express, are written as null.
func appendNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	if abs == 0 || (abs >= 1e-6 && abs < 1e21) {
		return strconv.AppendFloat(b, f, 'f', -1, 64)
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, 'e', -1, 64)
	// Clean up e-09 to e-9, as encoding/json does.
	if m := len(b) - n; m >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
		b[len(b)-2] = b[len(b)-1]
		b = b[:len(b)-1]
	}
	return b
}

func appendOptString(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Invalid UTF-8 is written as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = appendEscape(append(b, s[start:i]...), c)
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(append(b, s[start:i]...), `\ufffd`...)
			start = i + 1
		}
		i += n
	}
	return append(append(b, s[start:]...), '"')
}

func appendEscape(b []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(b, '\\', c)
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}
