package ingest

import (
	"log/slog"
	"sync"
)

// errorLogger logs an error when it differs from the last one logged and once more
// when things recover, so a long outage makes two lines, not thousands.
type errorLogger struct {
	log  *slog.Logger
	mu   sync.Mutex
	last string
}

func (l *errorLogger) report(msg string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := err.Error(); s != l.last {
		l.last = s
		l.log.Error(msg, "err", err)
	}
}

func (l *errorLogger) clear(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last != "" {
		l.last = ""
		l.log.Info(msg)
	}
}
