package sqldb

import "testing"

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{in: `SELECT 1`, want: `SELECT 1`},
		{in: `SELECT a FROM t WHERE b = ? AND c = ?`, want: `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{in: `SELECT '?', "a?" FROM t WHERE b = ?`, want: `SELECT '?', "a?" FROM t WHERE b = $1`},
		{in: `SELECT 'it''s ?' WHERE x = ?`, want: `SELECT 'it''s ?' WHERE x = $1`},
		{in: "SELECT 1 -- why?\nWHERE x = ?", want: "SELECT 1 -- why?\nWHERE x = $1"},
		{in: `VALUES (?, ?, 1, ?)`, want: `VALUES ($1, $2, 1, $3)`},
		{in: `SELECT 'open`, want: `SELECT 'open`},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
