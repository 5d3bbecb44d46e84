package simclock

import (
	"testing"
	"time"
)

func TestManual(t *testing.T) {
	start := time.Date(2026, 1, 15, 21, 0, 0, 0, time.UTC)
	m := NewManual(start)
	early, late := m.Wait(start.Add(time.Minute)), m.Wait(start.Add(time.Hour))
	select {
	case <-m.Wait(start):
	default:
		t.Fatal("a wait for the present did not return at once")
	}
	if m.Waiting() != 2 {
		t.Fatalf("%d waiting, want 2", m.Waiting())
	}
	m.Advance(2 * time.Minute)
	select {
	case <-early:
	default:
		t.Fatal("the wait for a passed time is still open")
	}
	select {
	case <-late:
		t.Fatal("the wait for a later time closed")
	default:
	}
	m.Set(start) // never backwards
	if got := m.Now(); !got.Equal(start.Add(2 * time.Minute)) {
		t.Errorf("Now = %v after setting it back", got)
	}
}

func TestScaled(t *testing.T) {
	start := time.Date(2026, 1, 15, 21, 0, 0, 0, time.UTC)
	s := NewScaled(start, 3600) // an hour a second
	deadline := time.After(5 * time.Second)
	select {
	case <-s.Wait(start.Add(10 * time.Minute)): // about 170 ms of real time
	case <-deadline:
		t.Fatal("ten simulated minutes did not pass within 5 s at 3600x")
	}
	if got := s.Now().Sub(start); got < 10*time.Minute {
		t.Errorf("woke at %v, before the time waited for", got)
	}
	if w := Wall(); w.Now().Sub(time.Now()).Abs() > time.Second {
		t.Errorf("the wall clock reads %v", w.Now())
	}
}
