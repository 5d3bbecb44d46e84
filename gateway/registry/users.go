package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"carebed/gateway/registry/internal/ledger"
	"carebed/internal/sqldb"
)

// User is a person (or a system) that signs in to the HTTP API: duty staff of a
// township, a village doctor, a visitor, a county administrator. Package
// carebed/gateway/auth gives the roles their meaning.
type User struct {
	// Name is the login, e.g. "duty-bayinbuluke-1".
	Name string
	// Display is how the person is named to others ("taken by ...") and in the
	// console.
	Display string
	Role    string
	// County, Township and Village are the area the user may see; the empty ones
	// below the set ones mean all of it.
	County, Township, Village string
	// Phone links the user to the people the escalation ladder pages.
	Phone string
	// PasswordHash is the PHC string of the password; empty: no password login.
	PasswordHash string
	Created      time.Time
	// Disabled is zero while the user may sign in.
	Disabled time.Time
}

// Active reports whether the user is not disabled.
func (u User) Active() bool { return u.Disabled.IsZero() }

// Token kinds.
const (
	TokenAPI     = "api"
	TokenSession = "session"
)

// Token is an API token or a sign-in session. Only its hash is stored.
type Token struct {
	Hash, User, Kind, Label string
	Created                 time.Time
	// Expires is zero for a token that does not expire.
	Expires time.Time
}

// PutUser creates or updates the user; an empty PasswordHash keeps the stored one,
// and an update re-enables a disabled user. The phone is normalised as the ledger's
// are (+86...), so it matches the contacts the escalation ladder pages.
func (s *Store) PutUser(ctx context.Context, u User) error {
	if u.Phone != "" {
		p, err := ledger.NormalizePhone(u.Phone)
		if err != nil {
			return fmt.Errorf("registry: user %s: phone: %w", u.Name, err)
		}
		u.Phone = p
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO users
		(name, display, role, county, township, village, phone, password, created_ms, disabled_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)
		ON CONFLICT (name) DO UPDATE SET display = excluded.display, role = excluded.role,
			county = excluded.county, township = excluded.township, village = excluded.village,
			phone = excluded.phone, disabled_ms = NULL,
			password = CASE WHEN excluded.password = '' THEN users.password ELSE excluded.password END`,
		u.Name, u.Display, u.Role, u.County, u.Township, u.Village, u.Phone, u.PasswordHash, u.Created.UnixMilli())
	if err != nil {
		return fmt.Errorf("registry: user %s: %w", u.Name, err)
	}
	return nil
}

// SetPassword replaces the user's password hash and ends the user's sessions.
func (s *Store) SetPassword(ctx context.Context, name, hash string) error {
	return s.inTx(ctx, func(tx *sqldb.Tx) error {
		if err := exactlyOne(tx.ExecContext(ctx, `UPDATE users SET password = ? WHERE name = ?`, hash, name)); err != nil {
			return fmt.Errorf("user %s: %w", name, err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE "user" = ? AND kind = 'session'`, name)
		return err
	})
}

// DisableUser stops the user from signing in and deletes the user's sessions and
// tokens.
func (s *Store) DisableUser(ctx context.Context, name string, at time.Time) error {
	return s.inTx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET disabled_ms = ? WHERE name = ?`, at.UnixMilli(), name)
		if err := exactlyOne(res, err); err != nil {
			return fmt.Errorf("user %s: %w", name, err)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM tokens WHERE "user" = ?`, name)
		return err
	})
}

// exactlyOne turns "no row changed" into ErrNotFound.
func exactlyOne(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

const userSelect = `SELECT u.name, u.display, u.role, u.county, u.township, u.village, u.phone, u.password,
	u.created_ms, coalesce(u.disabled_ms, 0) FROM users u`

// User returns the user with this login, or an error wrapping ErrNotFound.
func (s *Store) User(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, userSelect+` WHERE u.name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("registry: user %s: %w", name, err)
	}
	return u, nil
}

// Users returns every user ordered by county, township, village and name.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, userSelect+` ORDER BY u.county, u.township, u.village, u.name`)
	if err != nil {
		return nil, fmt.Errorf("registry: users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("registry: users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created, disabled int64
	err := row.Scan(&u.Name, &u.Display, &u.Role, &u.County, &u.Township, &u.Village, &u.Phone, &u.PasswordHash,
		&created, &disabled)
	u.Created = time.UnixMilli(created)
	if disabled != 0 {
		u.Disabled = time.UnixMilli(disabled)
	}
	return u, err
}

// PutToken stores a token (by its hash) for an existing user.
func (s *Store) PutToken(ctx context.Context, t Token) error {
	var expires int64
	if !t.Expires.IsZero() {
		expires = t.Expires.UnixMilli()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO tokens (hash, "user", kind, label, created_ms, expires_ms)
		VALUES (?, ?, ?, ?, ?, ?)`, t.Hash, t.User, t.Kind, t.Label, t.Created.UnixMilli(), expires)
	if err != nil {
		return fmt.Errorf("registry: token for %s: %w", t.User, err)
	}
	return nil
}

// TokenUser returns the active user holding the token with this hash, unless the
// token has expired at now; else an error wrapping ErrNotFound.
func (s *Store) TokenUser(ctx context.Context, hash string, now time.Time) (User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, userSelect+` JOIN tokens t ON t."user" = u.name
		WHERE t.hash = ? AND (t.expires_ms = 0 OR t.expires_ms > ?) AND u.disabled_ms IS NULL`,
		hash, now.UnixMilli()))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("registry: token: %w", err)
	}
	return u, nil
}

// DeleteToken deletes the token with this hash (a sign-out); deleting what is not
// there is not an error.
func (s *Store) DeleteToken(ctx context.Context, hash string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("registry: token: %w", err)
	}
	return nil
}

// DeleteExpiredTokens deletes tokens that expired before now.
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM tokens WHERE expires_ms != 0 AND expires_ms <= ?`, now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("registry: tokens: %w", err)
	}
	return res.RowsAffected()
}
