package points

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// A record is what one accepted message becomes in the spool: a header line naming
// the device and the seqs the message carried, then its line-protocol lines.
//
//	device-id 17 18 19\n
//	telemetry,county=...\n
//
// The seqs let the ingest rebuild its duplicate filter from the spool after a crash.

// ErrBadRecord is returned by ParseRecord for bytes that are not a record.
var ErrBadRecord = errors.New("points: bad spool record")

// AppendRecordHeader starts a record for device with the given seqs.
func AppendRecordHeader(dst []byte, device string, seqs ...uint64) []byte {
	dst = append(dst, device...)
	for _, s := range seqs {
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, s, 10)
	}
	return append(dst, '\n')
}

// Record is a parsed spool record. Lines aliases the record's bytes.
type Record struct {
	Device string
	Seqs   []uint64
	Lines  []byte
}

// ParseRecord splits a record into its header and its lines.
func ParseRecord(rec []byte) (Record, error) {
	head, lines, ok := bytes.Cut(rec, []byte{'\n'})
	if !ok {
		return Record{}, fmt.Errorf("%w: no header line", ErrBadRecord)
	}
	parts := bytes.Fields(head)
	if len(parts) == 0 {
		return Record{}, fmt.Errorf("%w: empty header", ErrBadRecord)
	}
	r := Record{Device: string(parts[0]), Lines: lines, Seqs: make([]uint64, 0, len(parts)-1)}
	for _, p := range parts[1:] {
		s, err := strconv.ParseUint(string(p), 10, 64)
		if err != nil {
			return Record{}, fmt.Errorf("%w: seq %q", ErrBadRecord, p)
		}
		r.Seqs = append(r.Seqs, s)
	}
	return r, nil
}

// Lines returns the line-protocol part of a record without parsing the header.
func Lines(rec []byte) ([]byte, error) {
	i := bytes.IndexByte(rec, '\n')
	if i < 0 {
		return nil, fmt.Errorf("%w: no header line", ErrBadRecord)
	}
	return rec[i+1:], nil
}
