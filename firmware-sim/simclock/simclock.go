// Package simclock is the simulator's time. Device models never read the wall clock:
// they take the time from a Clock, so a run can go faster than real time (a Scaled
// clock: a simulated night in minutes) and a test can move time by hand (a Manual
// clock: no sleeps, no waiting for hours).
package simclock

import (
	"sync"
	"time"
)

// Clock tells the simulated time and wakes whoever waits for a moment of it.
type Clock interface {
	// Now is the simulated time.
	Now() time.Time
	// Wait returns a channel that is closed once Now is t or later.
	Wait(t time.Time) <-chan struct{}
}

// Scaled is the wall clock run Speed times as fast from a simulated start.
type Scaled struct {
	start, realStart time.Time
	speed            float64
}

var _ Clock = (*Scaled)(nil)

// NewScaled returns a clock that reads start now and advances speed simulated
// seconds per real second. A zero start is the wall clock's now; a speed of 0 or
// less is 1.
func NewScaled(start time.Time, speed float64) *Scaled {
	real := time.Now()
	if start.IsZero() {
		start = real
	}
	if speed <= 0 {
		speed = 1
	}
	return &Scaled{start: start, realStart: real, speed: speed}
}

// Wall returns the wall clock as a Clock.
func Wall() *Scaled { return NewScaled(time.Time{}, 1) }

// Now is the simulated time.
func (s *Scaled) Now() time.Time {
	return s.start.Add(time.Duration(float64(time.Since(s.realStart)) * s.speed))
}

// Speed is how many simulated seconds pass per real second.
func (s *Scaled) Speed() float64 { return s.speed }

// Wait returns a channel closed once Now is t or later.
func (s *Scaled) Wait(t time.Time) <-chan struct{} {
	ch := make(chan struct{})
	var arm func()
	arm = func() {
		d := t.Sub(s.Now())
		if d <= 0 {
			close(ch)
			return
		}
		time.AfterFunc(time.Duration(float64(d)/s.speed)+time.Microsecond, arm)
	}
	arm()
	return ch
}

// Manual is a clock that moves only when told to (Set, Advance): for tests.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	t  time.Time
	ch chan struct{}
}

var _ Clock = (*Manual)(nil)

// NewManual returns a clock that reads start until it is moved.
func NewManual(start time.Time) *Manual { return &Manual{now: start} }

// Now is the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Wait returns a channel closed once the clock is moved to t or later.
func (m *Manual) Wait(t time.Time) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan struct{})
	if !t.After(m.now) {
		close(ch)
		return ch
	}
	m.waiters = append(m.waiters, waiter{t, ch})
	return ch
}

// Advance moves the clock d forward and wakes those waiting for the time passed.
func (m *Manual) Advance(d time.Duration) { m.Set(m.Now().Add(d)) }

// Set moves the clock to t (never backwards) and wakes those waiting for it.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.After(m.now) {
		m.now = t
	}
	kept := m.waiters[:0]
	for _, w := range m.waiters {
		if w.t.After(m.now) {
			kept = append(kept, w)
			continue
		}
		close(w.ch)
	}
	m.waiters = kept
}

// Waiting is how many Wait channels are still open (tests use it to know that a
// goroutine has gone to sleep on the clock).
func (m *Manual) Waiting() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.waiters)
}
