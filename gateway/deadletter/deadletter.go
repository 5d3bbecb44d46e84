// Package deadletter keeps the messages the gateway rejected, with the reason, in a
// JSON-lines file an operator or a firmware vendor can read. Payloads come from
// devices and carry ids and readings, never the registry's names or phone numbers.
package deadletter

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
	"unicode/utf8"
)

// MaxPayload is how much of a payload an entry keeps.
const MaxPayload = 4096

// Entry is one line of the dead-letter log.
type Entry struct {
	Time       time.Time `json:"time"`
	Topic      string    `json:"topic"`
	Reason     string    `json:"reason"`
	Error      string    `json:"error"`
	Payload    string    `json:"payload,omitempty"`
	PayloadB64 string    `json:"payload_b64,omitempty"`
	Size       int       `json:"size"`
	Truncated  bool      `json:"truncated,omitempty"`
	// Level is "warning" for a message that was accepted and acted on although
	// something in it was wrong (an alarm event with an unknown field); empty for a
	// rejected message.
	Level string `json:"level,omitempty"`
}

// LevelWarning marks an entry of a message that was accepted.
const LevelWarning = "warning"

// Log appends entries to a file, rotating it to path+".1" at maxBytes.
type Log struct {
	mu       sync.Mutex
	path     string
	maxBytes int64
	f        *os.File
	size     int64
}

// Open opens (creating) the log at path.
func Open(path string, maxBytes int64) (*Log, error) {
	l := &Log{path: path, maxBytes: maxBytes}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("deadletter: %w", err)
	}
	l.f, l.size = f, st.Size()
	return nil
}

// NewEntry builds the entry for a rejected payload.
func NewEntry(now time.Time, topic, reason string, err error, payload []byte) Entry {
	e := Entry{Time: now.UTC(), Topic: topic, Reason: reason, Size: len(payload)}
	if err != nil {
		e.Error = err.Error()
	}
	if len(payload) > MaxPayload {
		payload, e.Truncated = payload[:MaxPayload], true
	}
	if utf8.Valid(payload) {
		e.Payload = string(payload)
	} else {
		e.PayloadB64 = base64.StdEncoding.EncodeToString(payload)
	}
	return e
}

// Write appends e. The line is in the file (not necessarily on disk) when Write returns.
func (l *Log) Write(e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("deadletter: %s is closed", l.path)
	}
	if l.size+int64(len(b)) > l.maxBytes && l.size > 0 {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	n, err := l.f.Write(b)
	l.size += int64(n)
	if err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	return nil
}

func (l *Log) rotate() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil {
		return fmt.Errorf("deadletter: %w", err)
	}
	return l.open()
}

// Sync flushes the file to disk.
func (l *Log) Sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	return l.f.Sync()
}

// Close syncs and closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Sync()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}
