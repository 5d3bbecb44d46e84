package rules

import (
	"context"
	"time"
)

// TickEvery is how often Run raises what time alone makes due (no heart rate, a bed
// left at night, inactivity, silent devices).
const TickEvery = 5 * time.Second

// SaveEvery is how often Run saves the per-device state: a crash loses at most this
// much of it. Saving 10,000 devices takes 0.1-0.2 s (BenchmarkSave), of which the
// ingest waits only for a copy.
const SaveEvery = 30 * time.Second

// Run ticks the engine every TickEvery and saves its state to st every SaveEvery,
// until ctx ends. The caller saves once more after the intake has stopped, so the
// last messages' state is kept too.
func (e *Engine) Run(ctx context.Context, st ConditionStore, now func() time.Time) {
	tick, save := time.NewTicker(TickEvery), time.NewTicker(SaveEvery)
	defer tick.Stop()
	defer save.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := e.Tick(ctx, now()); err != nil && ctx.Err() == nil {
				e.log.Error("evaluating alert conditions", "err", err)
			}
		case <-save.C:
			if err := e.Save(ctx, st); err != nil && ctx.Err() == nil {
				e.log.Error("saving the alert conditions", "err", err)
			}
		}
	}
}
