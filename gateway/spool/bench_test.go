package spool

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// drain reads and commits batches of up to 5000 records until ctx ends, like the
// InfluxDB writer; a 2 ms pause per batch stands in for the write to InfluxDB.
func drain(ctx context.Context, b *testing.B, s *Spool) {
	for {
		batch, err := s.Read(ctx, 5000, 2<<20)
		if err != nil {
			return
		}
		time.Sleep(2 * time.Millisecond)
		if err := s.Commit(batch); err != nil {
			b.Error(err)
			return
		}
	}
}

// BenchmarkAppend measures Append of one 200-byte record per call from many
// goroutines, while a consumer reads and commits in the background (so disk use
// stays bounded): ns/op is wall time per record, cpu-ns/op the CPU time per record
// of appending, reading and committing, recs/fsync the group commit size.
func BenchmarkAppend(b *testing.B) {
	cases := []struct {
		name     string
		noSync   bool
		interval time.Duration
	}{
		{"nosync", true, -1},
		{"sync/interval=none", false, -1},
		{"sync/interval=5ms", false, 5 * time.Millisecond},
	}
	for _, c := range cases {
		for _, appenders := range []int{64, 512} {
			b.Run(fmt.Sprintf("%s/appenders=%d", c.name, appenders), func(b *testing.B) {
				benchAppend(b, c.noSync, c.interval, appenders)
			})
		}
	}
}

func benchAppend(b *testing.B, noSync bool, interval time.Duration, appenders int) {
	e := openSynced(b, b.TempDir(), Options{NoSync: noSync, KeepShippedBytes: 1, SyncInterval: interval})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { drain(ctx, b, e.Spool) })
	b.SetParallelism(max(1, appenders/runtime.GOMAXPROCS(0)))
	b.SetBytes(200)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := [][]byte{rec(0, 200)}
		for pb.Next() {
			if err := e.Append(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(e.counter("append_records_total")/e.counter("fsyncs_total"), "recs/fsync")
	cancel()
	wg.Wait()
}

// BenchmarkReadCommit measures reading and committing 200-byte records in batches
// of 1000 (commits are fsynced) from a spool filled beforehand.
func BenchmarkReadCommit(b *testing.B) {
	e := openSynced(b, b.TempDir(), Options{KeepShippedBytes: 1, NoSync: true})
	batch := make([][]byte, 1000)
	for i := range batch {
		batch[i] = rec(i, 200)
	}
	for n := 0; n < b.N; n += len(batch) {
		if err := e.Append(batch[:min(len(batch), b.N-n)]); err != nil {
			b.Fatal(err)
		}
	}
	e.opt.NoSync = false
	e = e.reopen(b)
	b.SetBytes(200)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	ctx := context.Background()
	for n := 0; n < b.N; {
		batch, err := e.Read(ctx, 1000, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.Commit(batch); err != nil {
			b.Fatal(err)
		}
		n += len(batch.Records)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkAppendAsync measures AppendAsync of one 200-byte record per call from
// GOMAXPROCS goroutines with up to 4096 records in flight (like an MQTT ingest
// that acks in the callback), with the same background consumer as BenchmarkAppend.
func BenchmarkAppendAsync(b *testing.B) {
	for _, interval := range []time.Duration{-1, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("sync/interval=%v", max(interval, 0)), func(b *testing.B) {
			benchAppendAsync(b, interval)
		})
	}
}

func benchAppendAsync(b *testing.B, interval time.Duration) {
	e := openSynced(b, b.TempDir(), Options{KeepShippedBytes: 1, SyncInterval: interval})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { drain(ctx, b, e.Spool) })
	inflight := make(chan struct{}, 4096)
	b.SetBytes(200)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		r := [][]byte{rec(0, 200)}
		done := func(err error) {
			if err != nil {
				b.Error(err)
			}
			<-inflight
		}
		for pb.Next() {
			inflight <- struct{}{}
			if err := e.AppendAsync(r, done); err != nil {
				b.Error(err)
				return
			}
		}
	})
	for range cap(inflight) {
		inflight <- struct{}{}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(e.counter("append_records_total")/e.counter("fsyncs_total"), "recs/fsync")
	cancel()
	wg.Wait()
}
