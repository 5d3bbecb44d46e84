package registry

import (
	"context"
	"errors"
	"fmt"
	"os"

	"carebed/internal/sqldb"
)

// copyTables are the registry's tables with their columns, parents before children.
var copyTables = []struct{ name, cols string }{
	{"counties", "name"},
	{"townships", "county, name, clinic_phone"},
	{"villages", "county, township, name"},
	{"homes", "id, county, township, village, elder, address, lat, lon, care_group, visit_days, round_days, mobile"},
	{"contacts", "home, pos, role, name, phone"},
	{"devices", "id, home, kind, heartbeat_s, phone"},
	{"credentials", "principal, kind, hash, issued_ms, revoked_ms"},
	{"users", "name, display, role, county, township, village, phone, password, created_ms, disabled_ms"},
	{"tokens", `hash, "user", kind, label, created_ms, expires_ms`},
	{"responders", "phone, id, legacy, created_ms"},
	{"positions", "device, lat, lon, acc_m, fix_ms, received_ms"},
}

// ErrNotEmpty is returned (wrapped) by CopyFrom when the registry to copy into
// already holds places, users, credentials or responder ids.
var ErrNotEmpty = errors.New("registry: the registry to copy into is not empty")

// CopyFrom copies every row of src into s, which must be empty (else ErrNotEmpty),
// in one write transaction, and returns how many rows it copied: a site moving its
// registry from SQLite to PostgreSQL keeps its places, homes, devices, device and
// responder credentials, responder ids, users and sessions.
func (s *Store) CopyFrom(ctx context.Context, src *Store) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *sqldb.Tx) error {
		var held int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM counties) + (SELECT count(*) FROM users) +
			(SELECT count(*) FROM credentials) + (SELECT count(*) FROM responders)`).Scan(&held); err != nil {
			return err
		}
		if held > 0 {
			return ErrNotEmpty
		}
		for _, t := range copyTables {
			c, err := sqldb.CopyTable(ctx, src.db, tx, t.name, t.cols, "mobile")
			n += c
			if err != nil {
				return fmt.Errorf("copy %s: %w", t.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("registry: copy: %w", err)
	}
	return n, nil
}

// adoptSQLite copies the SQLite registry at path into s (on PostgreSQL) when the file
// exists and s is still empty: the first start on PostgreSQL of a site that kept its
// registry in SQLite. It reports the rows copied (0: nothing to adopt). The file is
// left as it was.
func (s *Store) adoptSQLite(ctx context.Context, path string) (int, error) {
	if path == "" {
		return 0, nil
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	src, err := Open(path)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	n, err := s.CopyFrom(ctx, src)
	if errors.Is(err, ErrNotEmpty) {
		return 0, nil
	}
	return n, err
}
