// Package backup copies the gateway's SQLite stores (the registry, the alert store,
// the visits, the family digest's subscriptions and the inspection draws)
// consistently while the gateway runs, and puts such a copy back.
//
// A backup is a folder with registry.db, alerts.db, visits.db, digest.db and
// inspect.db written by SQLite's VACUUM INTO (a transactionally consistent, compacted
// copy, safe to take from a live database in WAL mode) and MANIFEST, which lists the
// files with their sizes and SHA-256. The spool is not backed up: it holds only what
// InfluxDB has not accepted yet, and InfluxDB has its own backup.
package backup

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver

	"carebed/gateway/spool"
)

// Files are the stores a backup holds, by file name in the data folder.
var Files = []string{"registry.db", "alerts.db", "visits.db", "digest.db", "inspect.db"}

const manifest = "MANIFEST"

// SQLiteWhenPostgres are the stores that stay in SQLite in the data folder when the
// gateway keeps its stores in PostgreSQL (database.url): none, since the alert
// store, the registry, users, sessions, visits, the family digest and the inspection
// draws all go there (backed up with pg_dump instead).
var SQLiteWhenPostgres []string

// Take writes a backup of the stores in dataDir into outDir, which must not exist
// yet. Stores that do not exist yet are skipped.
func Take(ctx context.Context, dataDir, outDir string, now time.Time) ([]string, error) {
	return TakeStores(ctx, dataDir, outDir, Files, now)
}

// TakeStores is Take for the stores names only (some of Files): a gateway on
// PostgreSQL backs up SQLiteWhenPostgres, not the SQLite files an earlier SQLite
// setup may have left in its data folder.
func TakeStores(ctx context.Context, dataDir, outDir string, names []string, now time.Time) ([]string, error) {
	if err := os.Mkdir(outDir, 0o700); err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	var lines, taken []string
	for _, name := range names {
		src := filepath.Join(dataDir, name)
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			continue
		}
		dst := filepath.Join(outDir, name)
		if err := vacuumInto(ctx, src, dst); err != nil {
			return taken, err
		}
		sum, size, err := digest(dst)
		if err != nil {
			return taken, err
		}
		lines = append(lines, fmt.Sprintf("%s %d %s", name, size, sum))
		taken = append(taken, name)
	}
	head := "# carebed backup taken " + now.UTC().Format(time.RFC3339) + " from " + dataDir
	body := head + "\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(outDir, manifest), []byte(body), 0o600); err != nil {
		return taken, fmt.Errorf("backup: %w", err)
	}
	return taken, nil
}

func vacuumInto(ctx context.Context, src, dst string) error {
	db, err := sql.Open("sqlite", src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return fmt.Errorf("backup: open %s: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("backup: copy %s: %w", src, err)
	}
	return os.Chmod(dst, 0o600)
}

func digest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("backup: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Restore puts the backup in dir back into dataDir, after checking each file
// against the manifest and SQLite's integrity check. It refuses while a gateway runs
// on dataDir (its spool is locked). The stores it replaces are kept beside as
// NAME.before-restore-<time>.
func Restore(ctx context.Context, dir, dataDir string, now time.Time) ([]string, error) {
	restored, _, err := RestoreStores(ctx, dir, dataDir, Files, now)
	return restored, err
}

// RestoreStores is Restore for the stores names only: the backup's other files are
// checked but left out, and returned as skipped.
func RestoreStores(ctx context.Context, dir, dataDir string, names []string, now time.Time) (restored, skipped []string, err error) {
	if busy, err := spool.InUse(filepath.Join(dataDir, "spool")); err != nil || busy {
		return nil, nil, errors.Join(errors.New("backup: a gateway is running on "+dataDir+"; stop it first"), err)
	}
	entries, err := readManifest(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range entries {
		if err := e.check(ctx, dir); err != nil {
			return nil, nil, err
		}
	}
	suffix := ".before-restore-" + now.UTC().Format("20060102T150405Z")
	for _, e := range entries {
		if !slices.Contains(names, e.name) {
			skipped = append(skipped, e.name)
			continue
		}
		if err := replace(filepath.Join(dir, e.name), filepath.Join(dataDir, e.name), suffix); err != nil {
			return restored, skipped, err
		}
		restored = append(restored, e.name)
	}
	return restored, skipped, nil
}

type entry struct {
	name, sum string
	size      int64
}

func readManifest(dir string) ([]entry, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifest))
	if err != nil {
		return nil, fmt.Errorf("backup: %s is not a carebed backup: %w", dir, err)
	}
	var out []entry
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		size, err := strconv.ParseInt(field(f, 1), 10, 64)
		if len(f) != 3 || err != nil || !known(f[0]) {
			return nil, fmt.Errorf("backup: %s line %d: want NAME SIZE SHA256", manifest, i+1)
		}
		out = append(out, entry{name: f[0], size: size, sum: f[2]})
	}
	return out, nil
}

func field(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

func known(name string) bool {
	for _, f := range Files {
		if f == name {
			return true
		}
	}
	return false
}

// check verifies the file's digest and SQLite's integrity check.
func (e entry) check(ctx context.Context, dir string) error {
	path := filepath.Join(dir, e.name)
	sum, size, err := digest(path)
	if err != nil {
		return err
	}
	if sum != e.sum || size != e.size {
		return fmt.Errorf("backup: %s does not match the manifest (damaged or altered)", path)
	}
	db, err := sql.Open("sqlite", path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		return fmt.Errorf("backup: %s fails SQLite's integrity check: %s %v", path, res, err)
	}
	return nil
}

// replace copies src over dst (through a temporary file and a rename), keeping the
// old dst with its WAL files as dst+suffix (a complete database still), so the WAL
// of the old data never meets the restored file.
func replace(src, dst, suffix string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmp := dst + ".restoring"
	if err := copyFile(src, tmp); err != nil {
		return err
	}
	for _, ext := range []string{"", "-wal", "-shm"} {
		err := os.Rename(dst+ext, dst+suffix+ext)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("backup: %w", err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("backup: %w", err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("backup: %w", err)
	}
	return out.Close()
}
