package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"carebed/gateway/backup"
)

// backupCmd runs `gateway backup [-config FILE] DIR`: a consistent copy of the
// registry and the alert store, safe while the gateway runs.
func backupCmd(ctx context.Context, args []string, stderr io.Writer, env func(string) (string, bool)) error {
	cfg, fs, err := loadConfig("backup", args, stderr, env, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("backup takes the folder to create")}
	}
	taken, err := backup.Take(ctx, cfg.DataDir, fs.Arg(0), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "backed up %s into %s\n", strings.Join(taken, ", "), fs.Arg(0))
	if cfg.Database.Postgres() {
		fmt.Fprintln(stderr, notInBackup)
	}
	return nil
}

// notInBackup warns that the alert store is not in a backup when it is on PostgreSQL.
const notInBackup = "the alert store is in PostgreSQL (database.url), not in this backup: " +
	"back it up with pg_dump (docs/operations.md, Upgrading: PostgreSQL)"

// restoreCmd runs `gateway restore [-config FILE] DIR` with the gateway stopped.
func restoreCmd(ctx context.Context, args []string, stderr io.Writer, env func(string) (string, bool)) error {
	cfg, fs, err := loadConfig("restore", args, stderr, env, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("restore takes the backup folder")}
	}
	restored, err := backup.Restore(ctx, fs.Arg(0), cfg.DataDir, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "restored %s into %s (the replaced files are kept as *.before-restore-*)\n",
		strings.Join(restored, ", "), cfg.DataDir)
	if cfg.Database.Postgres() {
		fmt.Fprintln(stderr, notInBackup)
	}
	return nil
}
