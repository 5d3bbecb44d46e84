package registry

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"carebed/internal/sqldb"
)

// Responder-app ids. A responder app's MQTT username, and the level of its topics
// (carebed/v1/responders/{id}/...), is an id the registry gives each phone: "r-" and
// 16 hex digits of 8 random bytes, kept in the responders table. Nothing derives it
// from the phone, so an id (in an exported broker ACL, a topic, a log) tells nothing
// about the phone.
//
// Before, the id was "r-" + the first 8 bytes of SHA-256("carebed-responder:" +
// phone): unsalted, so every id could be reversed by trying the few hundred million
// mobile numbers. Responder apps already provisioned with such an id keep it (marked
// legacy) so that they go on working after the upgrade, until
// RetireLegacyResponderIDs ends them.

// ResponderID returns the responder-app id of phone, giving it a new random one the
// first time.
func (s *Store) ResponderID(ctx context.Context, phone string) (string, error) {
	if phone == "" {
		return "", errors.New("registry: responder id: no phone")
	}
	id, err := s.responderID(ctx, phone)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return id, err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO responders (phone, id, created_ms) VALUES (?, ?, ?)
		ON CONFLICT (phone) DO NOTHING`, phone, newResponderID(), time.Now().UnixMilli()); err != nil {
		return "", fmt.Errorf("registry: responder id: %w", err)
	}
	return s.responderID(ctx, phone)
}

func (s *Store) responderID(ctx context.Context, phone string) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM responders WHERE phone = ?`, phone).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", ErrNotFound
	case err != nil:
		return "", fmt.Errorf("registry: responder id: %w", err)
	}
	return id, nil
}

// ResponderPhone returns the phone whose responder-app id is id, or ErrNotFound.
func (s *Store) ResponderPhone(ctx context.Context, id string) (string, error) {
	var phone string
	err := s.db.QueryRowContext(ctx, `SELECT phone FROM responders WHERE id = ?`, id).Scan(&phone)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("responder %s: %w", id, ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("registry: responder %s: %w", id, err)
	}
	return phone, nil
}

// LegacyResponderIDs returns the ids still derived from a phone (kept for apps
// provisioned before the upgrade).
func (s *Store) LegacyResponderIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM responders WHERE legacy = 1 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("registry: responders: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("registry: responders: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// RetireLegacyResponderIDs ends the legacy ids: their credentials are revoked at
// at and the phones get new random ids at their next ResponderID (provisioning
// then issues a login under the new id). It returns the retired ids.
func (s *Store) RetireLegacyResponderIDs(ctx context.Context, at time.Time) ([]string, error) {
	ids, err := s.LegacyResponderIDs(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.BeginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("registry: responders: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE credentials SET revoked_ms = ? WHERE principal = ? AND revoked_ms IS NULL`,
			at.UnixMilli(), id); err != nil {
			return nil, fmt.Errorf("registry: responders: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM responders WHERE legacy = 1`); err != nil {
		return nil, fmt.Errorf("registry: responders: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("registry: responders: %w", err)
	}
	return ids, nil
}

func newResponderID() string {
	b := make([]byte, 8)
	rand.Read(b) //nolint:errcheck // never fails
	return "r-" + hex.EncodeToString(b)
}

// legacyResponderID is the id of phone before the upgrade (reversible: see above).
func legacyResponderID(phone string) string {
	sum := sha256.Sum256([]byte("carebed-responder:" + phone))
	return "r-" + hex.EncodeToString(sum[:8])
}

// adoptLegacyResponders keeps the ids of responder apps provisioned before ids were
// random: each valid responder credential whose username is the legacy id of a
// phone in the registry (a home contact or a township clinic) becomes that phone's
// id, marked legacy. Run at every Open; cheap when there is nothing to adopt.
func adoptLegacyResponders(ctx context.Context, db *sqldb.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT principal FROM credentials WHERE kind = 'responder'
		AND revoked_ms IS NULL AND principal NOT IN (SELECT id FROM responders)`)
	if err != nil {
		return fmt.Errorf("adopt responder ids: %w", err)
	}
	orphans := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return fmt.Errorf("adopt responder ids: %w", err)
		}
		orphans[p] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(orphans) == 0 {
		return err
	}
	phones, err := registryPhones(ctx, db)
	if err != nil {
		return fmt.Errorf("adopt responder ids: %w", err)
	}
	now := time.Now().UnixMilli()
	for _, phone := range phones {
		if id := legacyResponderID(phone); orphans[id] {
			if _, err := db.ExecContext(ctx, `INSERT INTO responders (phone, id, legacy, created_ms) VALUES (?, ?, 1, ?)
				ON CONFLICT DO NOTHING`, phone, id, now); err != nil {
				return fmt.Errorf("adopt responder ids: %w", err)
			}
		}
	}
	return nil
}

// registryPhones lists the phones of home contacts and township clinics.
func registryPhones(ctx context.Context, db *sqldb.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT phone FROM contacts WHERE phone != ''
		UNION SELECT clinic_phone FROM townships WHERE clinic_phone != ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
