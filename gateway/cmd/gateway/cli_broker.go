package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"carebed/gateway/brokerauth"
	"carebed/gateway/config"
	"carebed/gateway/provision"
	"carebed/gateway/registry"
)

// provisionCmd runs `gateway devices|responders provision`.
func provisionCmd(ctx context.Context, kind string, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	var rotate bool
	var out string
	flags := func(fs *flag.FlagSet) {
		fs.BoolVar(&rotate, "rotate", false, "issue new passwords also to those that have one (the old ones stop working)")
		fs.StringVar(&out, "out", "", "write the CSV of new passwords to this new `file` (mode 0600) instead of stdout")
	}
	return withRegistry(kind+" provision", args, stderr, env, flags, func(_ config.Config, fs *flag.FlagSet, reg *registry.Store) error {
		o := provision.Options{IDs: fs.Args(), Rotate: rotate, Now: time.Now()}
		return issue(ctx, kind, reg, o, out, stdout, stderr)
	})
}

// issue issues the passwords o selects and writes them to out (or stdout).
func issue(ctx context.Context, kind string, reg *registry.Store, o provision.Options, out string, stdout, stderr io.Writer) error {
	// Open the output before issuing: a password stored as a hash and then not
	// written anywhere would be lost.
	w, closeOut, err := output(out, stdout)
	if err != nil {
		return err
	}
	issueKind := provision.Devices
	if kind == "responders" {
		issueKind = provision.Responders
	}
	issued, err := issueKind(ctx, reg, o)
	// Passwords already stored must reach the installer even after an error.
	werr := provision.WriteCSV(w, issued)
	if cerr := closeOut(); werr == nil {
		werr = cerr
	}
	if err = errors.Join(err, werr); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d %s issued a new password; run `gateway broker export` for Mosquitto\n", len(issued), kind)
	return nil
}

// output opens a new file (never over an old one: it may hold passwords not yet
// flashed) with mode 0600, or returns stdout when path is empty.
func output(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

// revokeCmd runs `gateway devices|responders revoke ID...`.
func revokeCmd(ctx context.Context, kind string, args []string, stderr io.Writer, env func(string) (string, bool)) error {
	return withRegistry(kind+" revoke", args, stderr, env, nil, func(_ config.Config, fs *flag.FlagSet, reg *registry.Store) error {
		if fs.NArg() == 0 {
			return usageError{errors.New(kind + " revoke takes the usernames to revoke")}
		}
		if err := provision.Revoke(ctx, reg, fs.Args(), time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "revoked %d; the embedded broker refuses them from their next connection, Mosquitto after `gateway broker export` and a reload\n", fs.NArg())
		return nil
	})
}

// credentialsCmd runs `gateway credentials list`: who has a password, without it.
func credentialsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	return withRegistry("credentials list", args, stderr, env, nil, func(_ config.Config, _ *flag.FlagSet, reg *registry.Store) error {
		creds, err := reg.Credentials(ctx)
		if err != nil {
			return err
		}
		return writeCredentials(stdout, creds)
	})
}

func writeCredentials(w io.Writer, creds []registry.Credential) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tUSERNAME\tISSUED\tREVOKED")
	for _, c := range creds {
		revoked := "-"
		if !c.Active() {
			revoked = c.Revoked.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Kind, c.Principal, c.Issued.Format(time.RFC3339), revoked)
	}
	return tw.Flush()
}

// exportCmd runs `gateway broker export -dir DIR`: Mosquitto's password and ACL files.
func exportCmd(ctx context.Context, args []string, stderr io.Writer, env func(string) (string, bool)) error {
	var dir string
	flags := func(fs *flag.FlagSet) { fs.StringVar(&dir, "dir", ".", "`folder` to write passwd and acl into") }
	return withRegistry("broker export", args, stderr, env, flags, func(cfg config.Config, _ *flag.FlagSet, reg *registry.Store) error {
		return export(ctx, cfg, reg, dir, stderr)
	})
}

// export writes Mosquitto's passwd and acl into dir.
func export(ctx context.Context, cfg config.Config, reg *registry.Store, dir string, stderr io.Writer) error {
	users, err := provision.BrokerUsers(ctx, reg, cfg.MQTT.Username, cfg.MQTT.Password)
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "passwd"), func(w io.Writer) error { return brokerauth.WritePasswd(w, users) }); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "acl"), func(w io.Writer) error { return brokerauth.WriteACL(w, users) }); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s and %s for %d broker users; reload Mosquitto (SIGHUP) to apply\n"+
		"Mosquitto must run with use_username_as_clientid true (deploy/mosquitto/carebed.conf): each user's client id is its username\n",
		filepath.Join(dir, "passwd"), filepath.Join(dir, "acl"), len(users))
	return nil
}

// writeAtomic writes path through a temporary file and a rename, mode 0640, so
// Mosquitto never reads half a file.
func writeAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) //nolint:errcheck // gone after the rename
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o640); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
