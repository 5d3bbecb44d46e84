package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// A frame on disk is a 16-byte header followed by the payload:
//
//	offset 0  uint32 payload length, little endian
//	offset 4  uint32 CRC-32C of bytes 8..16+length (time and payload)
//	offset 8  int64  append time, Unix nanoseconds
//	offset 16 payload
const headerSize = 16

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of frame decoding; both mean "no valid frame starts here".
var (
	errTruncated = errors.New("truncated frame")
	errChecksum  = errors.New("frame checksum mismatch")
)

// frameSize is the on-disk size of a record of n bytes.
func frameSize(n int) int64 { return headerSize + int64(n) }

// appendFrame appends the frame of rec, stamped t, to dst.
func appendFrame(dst, rec []byte, t int64) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, headerSize)...)
	dst = append(dst, rec...)
	h := dst[start : start+headerSize]
	binary.LittleEndian.PutUint32(h[0:], uint32(len(rec)))
	binary.LittleEndian.PutUint64(h[8:], uint64(t))
	binary.LittleEndian.PutUint32(h[4:], crc32.Checksum(dst[start+8:], castagnoli))
	return dst
}

// parseHeader returns the payload length and append time of a header and checks
// that the frame fits in avail bytes.
func parseHeader(h []byte, avail int64) (n int, t int64, err error) {
	if avail < headerSize {
		return 0, 0, fmt.Errorf("%w: %d bytes left, header needs %d", errTruncated, avail, headerSize)
	}
	n = int(binary.LittleEndian.Uint32(h[0:]))
	if frameSize(n) > avail {
		return 0, 0, fmt.Errorf("%w: length %d, %d bytes left", errTruncated, n, avail)
	}
	return n, int64(binary.LittleEndian.Uint64(h[8:])), nil
}

// checkFrame verifies the CRC of a complete frame f.
func checkFrame(f []byte) error {
	if binary.LittleEndian.Uint32(f[4:]) != crc32.Checksum(f[8:], castagnoli) {
		return errChecksum
	}
	return nil
}

// parseFrame decodes the frame at the start of b, of which avail bytes (at least
// len(b)) are valid data. It returns the payload (a slice of b), the append time and
// the frame size; errShort means the frame continues beyond b.
func parseFrame(b []byte, avail int64) (payload []byte, t int64, size int, err error) {
	if len(b) < headerSize && avail >= headerSize {
		return nil, 0, 0, errShort
	}
	n, t, err := parseHeader(b, avail)
	if err != nil {
		return nil, 0, 0, err
	}
	size = int(frameSize(n))
	if size > len(b) {
		return nil, 0, size, errShort
	}
	if err := checkFrame(b[:size]); err != nil {
		return nil, 0, 0, err
	}
	return b[headerSize:size:size], t, size, nil
}

// errShort: parseFrame needs more of the frame in memory.
var errShort = errors.New("frame continues past buffer")

// frameReader reads frames sequentially from a segment, up to end.
type frameReader struct {
	r   *bufio.Reader
	off int64 // offset of the next frame
	end int64 // offset where valid data ends
	buf []byte
}

// newFrameReader reads the frames of r (positioned at off) until end.
func newFrameReader(r io.Reader, off, end int64) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 1<<20), off: off, end: end}
}

// next returns the next frame's payload, valid until the following call, and its
// append time. It returns io.EOF at end and a wrapped errTruncated or errChecksum
// when no valid frame starts at fr.off; fr.off is unchanged then.
func (fr *frameReader) next() (payload []byte, t int64, err error) {
	if fr.off >= fr.end {
		return nil, 0, io.EOF
	}
	var h [headerSize]byte
	avail := fr.end - fr.off
	if _, err := io.ReadFull(fr.r, h[:min(avail, headerSize)]); err != nil {
		return nil, 0, fmt.Errorf("read frame header at %d: %w", fr.off, err)
	}
	n, t, err := parseHeader(h[:], avail)
	if err != nil {
		return nil, 0, err
	}
	size := int(frameSize(n))
	if cap(fr.buf) < size {
		fr.buf = make([]byte, size)
	}
	f := fr.buf[:size]
	copy(f, h[:])
	if _, err := io.ReadFull(fr.r, f[headerSize:]); err != nil {
		return nil, 0, fmt.Errorf("read frame at %d: %w", fr.off, err)
	}
	if err := checkFrame(f); err != nil {
		return nil, 0, err
	}
	fr.off += int64(size)
	return f[headerSize:], t, nil
}

// skipTo discards input up to offset off (at or after fr.off).
func (fr *frameReader) skipTo(off int64) error {
	if _, err := fr.r.Discard(int(off - fr.off)); err != nil {
		return fmt.Errorf("skip to %d: %w", off, err)
	}
	fr.off = off
	return nil
}
