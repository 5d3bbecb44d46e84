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
	"carebed/gateway/provision"
	"carebed/gateway/registry"
)

// provisionCmd runs `gateway devices|responders provision`.
func provisionCmd(ctx context.Context, kind string, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	var rotate bool
	var out string
	cfg, fs, err := loadConfig(kind+" provision", args, stderr, env, func(fs *flag.FlagSet) {
		fs.BoolVar(&rotate, "rotate", false, "issue new passwords also to those that have one (the old ones stop working)")
		fs.StringVar(&out, "out", "", "write the CSV of new passwords to this new `file` (mode 0600) instead of stdout")
	})
	if err != nil {
		return err
	}
	reg, err := openRegistry(cfg)
	if err != nil {
		return err
	}
	defer reg.Close()
	// Open the output before issuing: a password stored as a hash and then not
	// written anywhere would be lost.
	w, closeOut, err := output(out, stdout)
	if err != nil {
		return err
	}
	o := provision.Options{IDs: fs.Args(), Rotate: rotate, Now: time.Now()}
	issue := provision.Devices
	if kind == "responders" {
		issue = provision.Responders
	}
	issued, err := issue(ctx, reg, o)
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
	cfg, fs, err := loadConfig(kind+" revoke", args, stderr, env, nil)
	if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{errors.New(kind + " revoke takes the usernames to revoke")}
	}
	reg, err := openRegistry(cfg)
	if err != nil {
		return err
	}
	defer reg.Close()
	if err := provision.Revoke(ctx, reg, fs.Args(), time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "revoked %d; the embedded broker refuses them from their next connection, Mosquitto after `gateway broker export` and a reload\n", fs.NArg())
	return nil
}

// credentialsCmd runs `gateway credentials list`: who has a password, without it.
func credentialsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	cfg, _, err := loadConfig("credentials list", args, stderr, env, nil)
	if err != nil {
		return err
	}
	reg, err := openRegistry(cfg)
	if err != nil {
		return err
	}
	defer reg.Close()
	creds, err := reg.Credentials(ctx)
	if err != nil {
		return err
	}
	return writeCredentials(stdout, creds)
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
	cfg, _, err := loadConfig("broker export", args, stderr, env, func(fs *flag.FlagSet) {
		fs.StringVar(&dir, "dir", ".", "`folder` to write passwd and acl into")
	})
	if err != nil {
		return err
	}
	reg, err := openRegistry(cfg)
	if err != nil {
		return err
	}
	defer reg.Close()
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
	fmt.Fprintf(stderr, "wrote %s and %s for %d broker users; reload Mosquitto (SIGHUP) to apply\n",
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
