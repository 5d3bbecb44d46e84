package postgres

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"carebed/internal/pgschema"
)

// component is this store's name in schema_versions: the registry, users and
// sessions will keep their own versions beside it in the same table.
const component = "alerting"

// migrations are the schema's versions in order: migrations[i] takes the schema from
// version i to i+1. Append only; never edit one that has shipped. Times are Unix
// milliseconds (0: never), as in alerting/sqlite.
var migrations = []string{
	// 1: the alert store as alerting/sqlite keeps it.
	`CREATE TABLE alerts (
		id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		code TEXT NOT NULL UNIQUE,
		kind TEXT NOT NULL,
		severity TEXT NOT NULL,
		state TEXT NOT NULL,
		county TEXT NOT NULL, township TEXT NOT NULL, village TEXT NOT NULL, home TEXT NOT NULL,
		device TEXT NOT NULL,
		event_at BIGINT NOT NULL, late_ms BIGINT NOT NULL,
		opened_at BIGINT NOT NULL, notified_at BIGINT NOT NULL DEFAULT 0,
		acked_at BIGINT NOT NULL DEFAULT 0, resolved_at BIGINT NOT NULL DEFAULT 0,
		acked_by TEXT NOT NULL DEFAULT '', ack_channel TEXT NOT NULL DEFAULT '',
		outcome TEXT NOT NULL DEFAULT '', note TEXT NOT NULL DEFAULT '',
		repeats INTEGER NOT NULL DEFAULT 0,
		hold_until BIGINT NOT NULL DEFAULT 0,
		next_step INTEGER NOT NULL DEFAULT 0,
		next_at BIGINT NOT NULL DEFAULT 0
	);
	CREATE UNIQUE INDEX alerts_one_open ON alerts (home, kind) WHERE state <> 'resolved';
	CREATE INDEX alerts_due ON alerts (next_at) WHERE state IN ('pending', 'open', 'notified');
	CREATE INDEX alerts_opened ON alerts (opened_at DESC, id DESC);
	CREATE TABLE audit (
		id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		alert_id BIGINT NOT NULL REFERENCES alerts (id),
		at BIGINT NOT NULL,
		what TEXT NOT NULL,
		actor TEXT NOT NULL DEFAULT '',
		channel TEXT NOT NULL DEFAULT '',
		detail TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX audit_alert ON audit (alert_id, id);
	CREATE TABLE attempts (
		id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		alert_id BIGINT NOT NULL REFERENCES alerts (id),
		step INTEGER NOT NULL,
		person_id TEXT NOT NULL,
		channel TEXT NOT NULL,
		purpose TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		status TEXT NOT NULL,
		provider_id TEXT NOT NULL DEFAULT '',
		error TEXT NOT NULL DEFAULT '',
		tries INTEGER NOT NULL DEFAULT 0,
		UNIQUE (alert_id, step, person_id, channel, purpose)
	);
	CREATE INDEX attempts_provider ON attempts (provider_id) WHERE provider_id <> '';
	CREATE INDEX attempts_channel ON attempts (channel, id);
	CREATE INDEX attempts_queued ON attempts (id) WHERE status = 'queued';
	CREATE INDEX attempts_person ON attempts (person_id) WHERE purpose = 'page';
	CREATE TABLE device_conditions (
		device TEXT PRIMARY KEY,
		state BYTEA NOT NULL,
		saved_at BIGINT NOT NULL
	);
	CREATE TABLE links (
		id TEXT PRIMARY KEY,
		alert_id BIGINT NOT NULL REFERENCES alerts (id),
		person_id TEXT NOT NULL,
		expires_at BIGINT NOT NULL,
		used_at BIGINT NOT NULL DEFAULT 0
	);
	CREATE TABLE sms_seen (
		sid TEXT PRIMARY KEY,
		at BIGINT NOT NULL
	);
	CREATE INDEX sms_seen_at ON sms_seen (at);`,
}

// ErrNewerSchema means the database was migrated by a newer gateway than this one.
var ErrNewerSchema = pgschema.ErrNewerSchema

// migrate brings the schema up to the newest version, one transaction a version,
// under an advisory lock. It refuses (ErrNewerSchema) a database at a version this
// code does not know, and changes nothing then.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return pgschema.Migrate(ctx, pool, component, migrations)
}
