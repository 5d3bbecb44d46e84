// Package testlog is a log destination for tests that read what was logged.
package testlog

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer collects log output; it is safe for concurrent writers.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything logged so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Count returns how many times s was logged.
func (l *Buffer) Count(s string) int { return strings.Count(l.String(), s) }
