// Package lease decides which gateway of an active/standby pair is the active one: a
// lease row in PostgreSQL, taken with a fencing token that grows at every change of
// holder, kept alive by the holder's renewals, and checked inside every write
// transaction of the stores (Fence, given to alerting/postgres as Options.Fence).
//
// Expiry is reckoned on the database server's clock alone, so the two gateways'
// clocks need not agree. The fence reads the lease row FOR SHARE in the write's own
// transaction: a takeover (an UPDATE of that row) waits until every write already
// fenced has committed, and every write fenced after the takeover finds another token
// and is refused. A gateway paused past its lease (SIGSTOP, a VM migration, a long GC)
// that wakes up and tries to page therefore commits nothing; since a page is sent only
// after its escalation step is claimed in such a transaction, it sends nothing.
//
// gateway/service runs the pair on it (config pair.enabled): the standby takes the
// lease before it connects to the broker, the active renews it every TTL/3 and steps
// down at once when a renewal or a fence fails.
package lease

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carebed/internal/pgschema"
)

// ErrNotHeld means this gateway does not hold the lease (any more): the write that
// met it was rolled back.
var ErrNotHeld = errors.New("lease: this gateway does not hold the lease; the write was refused")

const component = "lease"

// migrations are the lease's schema versions (internal/pgschema).
var migrations = []string{
	// 1: one row per lease.
	`CREATE TABLE leases (
		name TEXT PRIMARY KEY,
		holder TEXT NOT NULL,
		token BIGINT NOT NULL,
		expires_at TIMESTAMPTZ NOT NULL
	)`,
	// 2: secrets both gateways of a pair must share (the one-tap links' key).
	`CREATE TABLE shared_keys (
		name TEXT PRIMARY KEY,
		key BYTEA NOT NULL
	)`,
}

// Options name the lease and its holder.
type Options struct {
	// Name is the lease: one per pair (a county's shard). Default "carebed".
	Name string
	// Holder names this gateway (its host name); the two of a pair differ.
	Holder string
	// TTL is how long the lease lasts after a renewal. Default 10 s: renew every
	// TTL/3, and the standby takes over at most TTL after the active's last renewal.
	TTL time.Duration
}

// Lease is one gateway's view of the lease.
type Lease struct {
	pool  *pgxpool.Pool
	o     Options
	token atomic.Int64 // 0: not held
	// base and until make Valid's local reckoning: until is the monotonic offset
	// from base at which the lease ends, counted from before the last successful
	// Acquire or Renew was sent, so it ends here no later than in the database.
	base  time.Time
	until atomic.Int64
}

// Open connects to the database at url and brings the lease's schema up to date.
func Open(ctx context.Context, url string, o Options) (*Lease, error) {
	if o.Holder == "" {
		return nil, errors.New("lease: a holder name is needed")
	}
	if o.Name == "" {
		o.Name = "carebed"
	}
	if o.TTL <= 0 {
		o.TTL = 10 * time.Second
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("lease: %w", err)
	}
	if err := pgschema.Migrate(ctx, pool, component, migrations); err != nil {
		pool.Close()
		return nil, fmt.Errorf("lease: %w", err)
	}
	return &Lease{pool: pool, o: o, base: time.Now()}, nil
}

// Close closes the connections (the lease itself runs out by its expiry; Release
// hands it over at once).
func (l *Lease) Close() { l.pool.Close() }

// Token is the fencing token of the lease this gateway holds, 0 when it holds none.
func (l *Lease) Token() int64 { return l.token.Load() }

// Acquire takes the lease when it is free, has expired, or is already this gateway's,
// and reports whether this gateway holds it now. A new holder, or the same one after
// an expiry, gets the next token; a renewal keeps it.
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	sent := time.Since(l.base)
	var token int64
	err := l.pool.QueryRow(ctx, `INSERT INTO leases (name, holder, token, expires_at)
		VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
			token = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > clock_timestamp()
				THEN leases.token ELSE leases.token + 1 END
		WHERE leases.expires_at <= clock_timestamp() OR leases.holder = excluded.holder
		RETURNING token`, l.o.Name, l.o.Holder, l.o.TTL.Milliseconds()).Scan(&token)
	if errors.Is(err, pgx.ErrNoRows) {
		l.token.Store(0)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lease: %w", err)
	}
	l.until.Store(int64(sent + l.o.TTL))
	l.token.Store(token)
	return true, nil
}

// Renew extends the lease this gateway holds by TTL. ErrNotHeld when it has expired
// or another gateway holds it: the caller must stop acting as the active one (and may
// Acquire again, getting a new token, if nobody took it).
func (l *Lease) Renew(ctx context.Context) error {
	token := l.token.Load()
	if token == 0 {
		return ErrNotHeld
	}
	sent := time.Since(l.base)
	tag, err := l.pool.Exec(ctx, `UPDATE leases SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
		WHERE name = $1 AND holder = $2 AND token = $4 AND expires_at > clock_timestamp()`,
		l.o.Name, l.o.Holder, l.o.TTL.Milliseconds(), token)
	if err != nil {
		return fmt.Errorf("lease: %w", err)
	}
	if tag.RowsAffected() == 0 {
		l.token.CompareAndSwap(token, 0)
		return ErrNotHeld
	}
	l.until.Store(int64(sent + l.o.TTL))
	return nil
}

// Drop forgets the lease here at once, without asking the database: every later
// Fence refuses, and Valid is false. The gateway drops it when it learns it is no
// longer the active one; the database's row runs out by itself.
func (l *Lease) Drop() { l.token.Store(0) }

// SharedKey returns the secret named name that every gateway of the pair shares,
// made (32 random bytes) by whichever asks first.
func (l *Lease) SharedKey(ctx context.Context, name string) ([]byte, error) {
	key := make([]byte, 32)
	rand.Read(key) //nolint:errcheck // never fails
	if _, err := l.pool.Exec(ctx, `INSERT INTO shared_keys (name, key) VALUES ($1, $2)
		ON CONFLICT (name) DO NOTHING`, name, key); err != nil {
		return nil, fmt.Errorf("lease: shared key: %w", err)
	}
	if err := l.pool.QueryRow(ctx, `SELECT key FROM shared_keys WHERE name = $1`, name).Scan(&key); err != nil {
		return nil, fmt.Errorf("lease: shared key: %w", err)
	}
	return key, nil
}

// Valid reports, without asking the database, whether this gateway holds the lease
// and its last renewal has not run out by this machine's monotonic clock (which goes
// on while the process is paused). A gateway checks it before anything the fence
// cannot guard: reconnecting to the broker, handing a claimed page to the provider.
func (l *Lease) Valid() bool {
	return l.token.Load() != 0 && time.Since(l.base) < time.Duration(l.until.Load())
}

// TTL is the lease's duration.
func (l *Lease) TTL() time.Duration { return l.o.TTL }

// Release ends the lease at once (a graceful stop), so the standby need not wait for
// its expiry. Nothing when this gateway does not hold it.
func (l *Lease) Release(ctx context.Context) error {
	token := l.token.Swap(0)
	if token == 0 {
		return nil
	}
	_, err := l.pool.Exec(ctx, `UPDATE leases SET expires_at = clock_timestamp()
		WHERE name = $1 AND holder = $2 AND token = $3`, l.o.Name, l.o.Holder, token)
	if err != nil {
		return fmt.Errorf("lease: %w", err)
	}
	return nil
}

// Fence checks, inside the write transaction tx, that this gateway still holds the
// lease with its token and that it has not expired, and keeps the lease row locked
// (FOR SHARE) until tx ends, so no takeover can slip between the check and the
// commit. ErrNotHeld otherwise. It has the shape of alerting/postgres's Options.Fence.
func (l *Lease) Fence(ctx context.Context, tx pgx.Tx) error {
	token := l.token.Load()
	if token == 0 {
		return ErrNotHeld
	}
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND token = $3
		AND expires_at > clock_timestamp() FOR SHARE`, l.o.Name, l.o.Holder, token).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotHeld
	}
	if err != nil {
		return fmt.Errorf("lease: %w", err)
	}
	return nil
}
