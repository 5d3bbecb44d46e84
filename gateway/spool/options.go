package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied by Open to zero-valued Options fields.
const (
	// DefaultSegmentBytes is the size at which a segment file is closed and a new one
	// is started.
	DefaultSegmentBytes = 16 << 20
	// DefaultMaxBytes bounds the unshipped data on disk.
	DefaultMaxBytes = 1 << 30
	// DefaultKeepShippedBytes is how much shipped data is kept for Recent.
	DefaultKeepShippedBytes = 64 << 20
	// MinSegmentBytes is the smallest SegmentBytes that Open accepts.
	MinSegmentBytes = 1 << 10
	// DefaultSyncInterval is the default minimum time between two group commits.
	DefaultSyncInterval = 5 * time.Millisecond
)

// Options configures a Spool. The zero value of every field except Dir selects its
// default.
type Options struct {
	// Dir is the directory that holds the segment files and the cursor; Open creates
	// it. Only one Spool may use a directory at a time.
	Dir string
	// SegmentBytes is the size at which the current segment file is closed and a new
	// one started (default DefaultSegmentBytes, at least MinSegmentBytes). It also
	// bounds a single record: a frame larger than SegmentBytes is rejected.
	SegmentBytes int64
	// MaxBytes bounds the unshipped data (frames appended but not yet committed);
	// Append returns ErrFull rather than exceed it (default DefaultMaxBytes).
	MaxBytes int64
	// KeepShippedBytes is how much fully shipped data is kept on disk for Recent
	// before the oldest segments are deleted (default DefaultKeepShippedBytes).
	KeepShippedBytes int64
	// SyncInterval is the minimum time between the starts of two group commits
	// (default DefaultSyncInterval; negative: none). An fsync costs a few hundred
	// microseconds of CPU whatever its size, so under load waiting for more appends
	// saves CPU; it adds up to SyncInterval to the latency of Append, and nothing
	// when appends are rarer than one per SyncInterval.
	SyncInterval time.Duration
	// NoSync skips fsync. Data is then lost on power failure; meant only for
	// benchmarks that measure the cost of fsync.
	NoSync bool
	// Logger receives warnings about truncated tails, corruption and a full spool
	// (default slog.Default()).
	Logger *slog.Logger
	// Registerer receives the spool's metrics; nil means no metrics are registered.
	// Close unregisters them, so a directory can be reopened with the same registry.
	Registerer prometheus.Registerer
	// Now is the clock used to stamp records and to compute ages (default time.Now).
	Now func() time.Time
}

// errOption is wrapped by every validation error of Open.
var errOption = errors.New("spool: invalid option")

// withDefaults returns a copy of o with defaults filled in, or an error naming the
// first invalid option.
func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("%w: Dir is empty", errOption)
	}
	checks := []struct {
		name  string
		value *int64
		def   int64
		min   int64
	}{
		{"SegmentBytes", &o.SegmentBytes, DefaultSegmentBytes, MinSegmentBytes},
		{"MaxBytes", &o.MaxBytes, DefaultMaxBytes, 1},
		{"KeepShippedBytes", &o.KeepShippedBytes, DefaultKeepShippedBytes, 1},
	}
	for _, c := range checks {
		if *c.value == 0 {
			*c.value = c.def
		}
		if *c.value < c.min {
			return o, fmt.Errorf("%w: %s is %d, must be at least %d", errOption, c.name, *c.value, c.min)
		}
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o, nil
}
