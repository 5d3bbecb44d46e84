// Package sink ships the spool to InfluxDB: it reads batches, writes them with a
// blocking write, and commits the spool position only after InfluxDB accepted them.
// While InfluxDB is down or slow it retries with backoff; the spool holds the backlog.
// Points InfluxDB refuses as malformed are isolated by halving the batch and written
// to the dead-letter log one by one, so one bad point never blocks the rest.
package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unsafe"

	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"carebed/gateway/deadletter"
	"carebed/gateway/points"
	"carebed/gateway/spool"
)

// Source is the spool as the sink reads it.
type Source interface {
	Read(ctx context.Context, maxRecords, maxBytes int) (spool.Batch, error)
	Commit(spool.Batch) error
	Rewind()
	Stats() spool.Stats
}

// Writer writes line protocol; influxdb-client-go's WriteAPIBlocking is one. The
// lines' memory is reused once WriteRecord returns: a Writer must not keep it.
type Writer interface {
	WriteRecord(ctx context.Context, lines ...string) error
}

// DeadLetters keeps points InfluxDB refused.
type DeadLetters interface {
	Write(deadletter.Entry) error
}

// Options configure a Sink.
type Options struct {
	Source      Source
	Writer      Writer
	DeadLetters DeadLetters
	Metrics     *Metrics
	Logger      *slog.Logger
	// BatchRecords and BatchBytes bound one write.
	BatchRecords, BatchBytes int
	// FlushInterval: while fewer than BatchRecords wait and more keep coming, Run
	// waits for a fuller write until the oldest has waited this long (zero: it
	// writes at once). InfluxDB pays for every write, so writing whatever one group
	// commit brought cost it several times the CPU per point at a few thousand
	// points a second.
	FlushInterval time.Duration
	// RetryMin and RetryMax bound the backoff between failed writes.
	RetryMin, RetryMax time.Duration
	Now                func() time.Time
}

// Sink ships the spool to InfluxDB.
type Sink struct {
	o   Options
	log *slog.Logger

	mu      sync.Mutex
	lastErr string

	// body is the request body of a write, reused: one batch's lines joined. (Passing
	// the client one line per record made it join them into a new string of the whole
	// batch for every write: an allocation of megabytes per write.)
	body []byte
}

// New returns a Sink; Source, Writer and DeadLetters are required.
func New(o Options) *Sink {
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BatchRecords <= 0 {
		o.BatchRecords = 5000
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 4 << 20
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 200 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Sink{o: o, log: o.Logger.With("component", "influx")}
}

// Run ships batches until ctx ends. Records read but not yet accepted are read again
// by the next Run or Flush.
func (s *Sink) Run(ctx context.Context) error {
	defer s.o.Source.Rewind()
	wait := time.NewTimer(0)
	for {
		b, err := s.o.Source.Read(ctx, s.o.BatchRecords, s.o.BatchBytes)
		if err == nil && s.settle(ctx, b, wait) { // read again, with what came meanwhile
			s.o.Source.Rewind()
			b, err = s.o.Source.Read(ctx, s.o.BatchRecords, s.o.BatchBytes)
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, spool.ErrClosed) {
				return nil
			}
			return fmt.Errorf("sink: read spool: %w", err)
		}
		if err := s.ship(ctx, b); err != nil {
			return nil // ctx ended while InfluxDB was failing
		}
	}
}

// settleStep is how often settle checks whether records still come.
const settleStep = 100 * time.Millisecond

// settle waits for a fuller batch than b while b is not full, its oldest record has
// waited less than FlushInterval, and records keep coming (checked every settleStep,
// or tenth of the interval: when traffic stops, what there is goes within that). It
// reports whether it waited; then b is to be read again.
func (s *Sink) settle(ctx context.Context, b spool.Batch, t *time.Timer) (waited bool) {
	if s.o.FlushInterval <= 0 || b.Oldest.IsZero() || s.full(b) {
		return false
	}
	deadline := b.Oldest.Add(s.o.FlushInterval)
	for n := s.o.Source.Stats().Records; n < int64(s.o.BatchRecords) && ctx.Err() == nil; {
		d := deadline.Sub(s.o.Now())
		if d <= 0 {
			break
		}
		t.Reset(min(d, s.o.FlushInterval/10, settleStep))
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		waited = true
		m := s.o.Source.Stats().Records
		if m == n {
			break // nothing came: write what there is
		}
		n = m
	}
	return waited
}

// full reports whether b is a full write: BatchRecords records, or most of
// BatchBytes (large records: batch replays).
func (s *Sink) full(b spool.Batch) bool {
	if len(b.Records) >= s.o.BatchRecords {
		return true
	}
	size := 0
	for _, r := range b.Records {
		size += len(r)
	}
	return size >= s.o.BatchBytes*3/4
}

// Flush ships what the spool holds until it is empty or ctx ends; the gateway calls
// it on shutdown after ingest stopped.
func (s *Sink) Flush(ctx context.Context) error {
	defer s.o.Source.Rewind()
	for s.o.Source.Stats().Records > 0 {
		b, err := s.o.Source.Read(ctx, s.o.BatchRecords, s.o.BatchBytes)
		if err != nil {
			return fmt.Errorf("sink: flush: %w", err)
		}
		if err := s.ship(ctx, b); err != nil {
			return fmt.Errorf("sink: flush: %w", err)
		}
	}
	return nil
}

// ship writes b, retrying until InfluxDB takes it or ctx ends, then commits it.
func (s *Sink) ship(ctx context.Context, b spool.Batch) error {
	wait := s.o.RetryMin
	for {
		err := s.write(ctx, b.Records)
		if err == nil {
			s.recovered()
			if !b.Oldest.IsZero() {
				s.o.Metrics.shipLag.Observe(s.o.Now().Sub(b.Oldest).Seconds())
			}
			return s.o.Source.Commit(b)
		}
		if ctx.Err() != nil { // stopping: the write was cut off, not refused
			return ctx.Err()
		}
		s.failed(err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, s.o.RetryMax)
	}
}

// write writes recs. A batch InfluxDB refuses as malformed is halved until the bad
// records stand alone; those are dead-lettered. It returns only retryable errors.
func (s *Sink) write(ctx context.Context, recs [][]byte) error {
	body := s.body[:0]
	npoints := 0
	for _, r := range recs {
		l, err := points.Lines(r)
		if err != nil {
			s.deadLetter(r, err)
			continue
		}
		body = append(body, l...) // each record's lines end with a newline
		npoints += bytes.Count(l, []byte{'\n'})
	}
	s.body = body
	if npoints == 0 {
		return nil
	}
	start := s.o.Now()
	// The blocking write has sent the body when it returns, so the buffer is ours again.
	err := s.o.Writer.WriteRecord(ctx, unsafe.String(unsafe.SliceData(body), len(body)))
	s.o.Metrics.observe(start, s.o.Now(), npoints, err)
	if err == nil || !permanent(err) {
		return err
	}
	if len(recs) == 1 {
		s.deadLetter(recs[0], err)
		return nil
	}
	half := len(recs) / 2
	if err := s.write(ctx, recs[:half]); err != nil {
		return err
	}
	return s.write(ctx, recs[half:])
}

// permanent reports whether InfluxDB refused the data itself (retrying the same bytes
// cannot help) rather than being unreachable, overloaded or misconfigured.
func permanent(err error) bool {
	var he *influxhttp.Error
	if !errors.As(err, &he) {
		return false
	}
	switch he.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return true
	}
	return false
}

func (s *Sink) deadLetter(rec []byte, err error) {
	s.o.Metrics.rejected.Inc()
	// Positions stay out of the dead-letter log (personal data; issue 17).
	e := deadletter.NewEntry(s.o.Now(), "influx", "influx_rejected", err, points.WithoutPositions(rec))
	if werr := s.o.DeadLetters.Write(e); werr != nil {
		s.log.Error("dead-letter log write failed", "err", werr)
	}
}

// failed logs err when it differs from the last failure.
func (s *Sink) failed(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg := err.Error(); msg != s.lastErr {
		s.lastErr = msg
		s.log.Error("InfluxDB write failed; retrying, the spool keeps the data", "err", err,
			"backlog_records", s.o.Source.Stats().Records)
	}
}

func (s *Sink) recovered() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErr != "" {
		s.lastErr = ""
		s.log.Info("InfluxDB writes succeed again", "backlog_records", s.o.Source.Stats().Records)
	}
}

// Healthy reports whether the last write succeeded (or none failed yet).
func (s *Sink) Healthy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr == ""
}
