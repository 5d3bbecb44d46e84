package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"carebed/gateway/backup"
	"carebed/gateway/config"
)

// backupCmd runs `gateway backup [-config FILE] DIR`: a consistent copy of the
// SQLite stores in the data folder (the registry, the alert store and the visits;
// with database.url none: they are in PostgreSQL), safe while the gateway runs.
func backupCmd(ctx context.Context, args []string, stderr io.Writer, env func(string) (string, bool)) error {
	cfg, fs, err := loadConfig("backup", args, stderr, env, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("backup takes the folder to create")}
	}
	taken, err := backup.TakeStores(ctx, cfg.DataDir, fs.Arg(0), sqliteStores(cfg), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "backed up %s into %s\n", orNothing(taken), fs.Arg(0))
	if cfg.Database.Postgres() {
		fmt.Fprintln(stderr, notInBackup)
	}
	return nil
}

// notInBackup warns that what is on PostgreSQL is not in a backup.
const notInBackup = "the alert store, the registry, users, sessions, visits, the family digest and the inspection draws " +
	"are in PostgreSQL (database.url), " +
	"not in this backup: back them up with pg_dump (docs/operations.md, Upgrading: PostgreSQL)"

// sqliteStores are the stores the gateway keeps in SQLite in its data folder.
func sqliteStores(cfg config.Config) []string {
	if cfg.Database.Postgres() {
		return backup.SQLiteWhenPostgres
	}
	return backup.Files
}

// orNothing lists names, or says there were none.
func orNothing(names []string) string {
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// restoreCmd runs `gateway restore [-config FILE] DIR` with the gateway stopped.
func restoreCmd(ctx context.Context, args []string, stderr io.Writer, env func(string) (string, bool)) error {
	cfg, fs, err := loadConfig("restore", args, stderr, env, nil)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("restore takes the backup folder")}
	}
	restored, skipped, err := backup.RestoreStores(ctx, fs.Arg(0), cfg.DataDir, sqliteStores(cfg), time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "restored %s into %s (the replaced files are kept as *.before-restore-*)\n",
		orNothing(restored), cfg.DataDir)
	if len(skipped) > 0 {
		fmt.Fprintf(stderr, "left out %s: the gateway keeps those in PostgreSQL now\n", strings.Join(skipped, ", "))
	}
	if cfg.Database.Postgres() {
		fmt.Fprintln(stderr, notInBackup)
	}
	return nil
}
