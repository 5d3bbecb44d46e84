package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Principal kinds that hold MQTT credentials.
const (
	PrincipalDevice    = "device"
	PrincipalResponder = "responder"
)

// Credential is the MQTT password hash of a device or a responder app. The hash is in
// Mosquitto's $7$ format (package carebed/gateway/credential); the password itself is
// never stored.
type Credential struct {
	// Principal is the MQTT username: the device id or the responder id.
	Principal string
	Kind      string
	Hash      string
	Issued    time.Time
	// Revoked is zero while the credential is valid.
	Revoked time.Time
}

// Active reports whether the credential has not been revoked.
func (c Credential) Active() bool { return c.Revoked.IsZero() }

// SetCredential stores principal's password hash, replacing (rotating) any earlier
// one, revoked or not.
func (s *Store) SetCredential(ctx context.Context, c Credential) error {
	if c.Kind != PrincipalDevice && c.Kind != PrincipalResponder {
		return fmt.Errorf("registry: credential of %s: kind %q is not device or responder", c.Principal, c.Kind)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO credentials (principal, kind, hash, issued_ms, revoked_ms)
		VALUES (?, ?, ?, ?, NULL)
		ON CONFLICT (principal) DO UPDATE SET kind = excluded.kind, hash = excluded.hash,
			issued_ms = excluded.issued_ms, revoked_ms = NULL`,
		c.Principal, c.Kind, c.Hash, c.Issued.UnixMilli())
	if err != nil {
		return fmt.Errorf("registry: credential of %s: %w", c.Principal, err)
	}
	return nil
}

// RevokeCredential marks principal's credential revoked; the broker refuses it from
// the next connection on. Revoking what is not there is an error wrapping ErrNotFound.
func (s *Store) RevokeCredential(ctx context.Context, principal string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE credentials SET revoked_ms = ?
		WHERE principal = ? AND revoked_ms IS NULL`, at.UnixMilli(), principal)
	if err != nil {
		return fmt.Errorf("registry: revoke %s: %w", principal, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("registry: revoke %s: no valid credential: %w", principal, ErrNotFound)
	}
	return nil
}

const credentialSelect = `SELECT principal, kind, hash, issued_ms, coalesce(revoked_ms, 0) FROM credentials`

// Credential returns principal's credential, revoked or not, or an error wrapping
// ErrNotFound.
func (s *Store) Credential(ctx context.Context, principal string) (Credential, error) {
	c, err := scanCredential(s.db.QueryRowContext(ctx, credentialSelect+` WHERE principal = ?`, principal))
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("credential of %s: %w", principal, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("registry: credential of %s: %w", principal, err)
	}
	return c, nil
}

// Credentials returns every credential, revoked ones included, ordered by kind and
// principal.
func (s *Store) Credentials(ctx context.Context) ([]Credential, error) {
	rows, err := s.db.QueryContext(ctx, credentialSelect+` ORDER BY kind, principal`)
	if err != nil {
		return nil, fmt.Errorf("registry: credentials: %w", err)
	}
	defer rows.Close()
	var out []Credential
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: credentials: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("registry: credentials: %w", err)
	}
	return out, nil
}

func scanCredential(row interface{ Scan(...any) error }) (Credential, error) {
	var c Credential
	var issued, revoked int64
	if err := row.Scan(&c.Principal, &c.Kind, &c.Hash, &issued, &revoked); err != nil {
		return c, err
	}
	c.Issued = time.UnixMilli(issued)
	if revoked != 0 {
		c.Revoked = time.UnixMilli(revoked)
	}
	return c, nil
}
