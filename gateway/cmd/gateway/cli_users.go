package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"carebed/gateway/auth"
	"carebed/gateway/config"
	"carebed/gateway/credential"
	"carebed/gateway/registry"
)

// usersCmd runs `gateway users add|passwd|disable|list` and `gateway tokens create`.
func usersCmd(ctx context.Context, sub string, args []string, stdin io.Reader, stdout, stderr io.Writer,
	env func(string) (string, bool)) error {
	switch sub {
	case "add":
		return addUser(ctx, args, stdin, stdout, stderr, env)
	case "passwd":
		return setPassword(ctx, args, stdin, stdout, stderr, env)
	case "disable":
		return withUser("users disable", args, stderr, env, nil, func(reg *registry.Store, name string) error {
			return reg.DisableUser(ctx, name, time.Now())
		})
	case "list":
		return listUsers(ctx, args, stdout, stderr, env)
	}
	return usageError{fmt.Errorf("users %s: unknown; use add, passwd, disable or list", sub)}
}

func addUser(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	var u registry.User
	var fromStdin bool
	cfg, fs, err := loadConfig("users add", args, stderr, env, func(fs *flag.FlagSet) {
		fs.StringVar(&u.Display, "display", "", "the name others see, e.g. 和静县巴润哈尔莫敦镇卫生院值班")
		fs.StringVar(&u.Role, "role", "", "one of "+strings.Join(auth.Roles(), ", "))
		fs.StringVar(&u.County, "county", "", "the user's county")
		fs.StringVar(&u.Township, "township", "", "the user's township (township_duty, village_doctor, visitor)")
		fs.StringVar(&u.Village, "village", "", "the user's village (village_doctor, visitor)")
		fs.StringVar(&u.Phone, "phone", "", "the user's phone, linking them to the people the ladder pages")
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin instead of generating one")
	})
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("users add takes one login name")}
	}
	u.Name, u.Created = fs.Arg(0), time.Now()
	if err := auth.CheckUser(u); err != nil {
		return usageError{err}
	}
	pw, generated, err := password(fromStdin, stdin)
	if err != nil {
		return err
	}
	u.PasswordHash = auth.HashPassword(pw)
	reg, err := openRegistry(cfg, stderr)
	if err != nil {
		return err
	}
	defer reg.Close()
	if err := reg.PutUser(ctx, u); err != nil {
		return err
	}
	if generated {
		fmt.Fprintf(stdout, "%s\t%s\n", u.Name, pw)
	}
	fmt.Fprintf(stderr, "user %s (%s) saved\n", u.Name, u.Role)
	return nil
}

// password reads one line from stdin, or makes a random password when fromStdin is
// false (generated reports which).
func password(fromStdin bool, stdin io.Reader) (pw string, generated bool, err error) {
	if !fromStdin {
		return credential.NewPassword(), true, nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	pw = strings.TrimRight(line, "\r\n")
	return pw, false, auth.CheckPassword(pw)
}

func setPassword(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	var fromStdin bool
	flags := func(fs *flag.FlagSet) {
		fs.BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of stdin instead of generating one")
	}
	return withUser("users passwd", args, stderr, env, flags, func(reg *registry.Store, name string) error {
		pw, generated, err := password(fromStdin, stdin)
		if err != nil {
			return err
		}
		if err := reg.SetPassword(ctx, name, auth.HashPassword(pw)); err != nil {
			return err
		}
		if generated {
			fmt.Fprintf(stdout, "%s\t%s\n", name, pw)
		}
		fmt.Fprintf(stderr, "password of %s changed; their sessions ended\n", name)
		return nil
	})
}

// withUser opens the registry and runs f for the one login name in args.
func withUser(name string, args []string, stderr io.Writer, env func(string) (string, bool), more func(*flag.FlagSet),
	f func(*registry.Store, string) error) error {
	return withRegistry(name, args, stderr, env, more, func(_ config.Config, fs *flag.FlagSet, reg *registry.Store) error {
		if fs.NArg() != 1 {
			return usageError{errors.New(name + " takes one login name")}
		}
		return f(reg, fs.Arg(0))
	})
}

func listUsers(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	return withRegistry("users list", args, stderr, env, nil, func(_ config.Config, _ *flag.FlagSet, reg *registry.Store) error {
		return writeUsers(ctx, reg, stdout)
	})
}

func writeUsers(ctx context.Context, reg *registry.Store, stdout io.Writer) error {
	users, err := reg.Users(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCOUNTY\tTOWNSHIP\tVILLAGE\tDISPLAY\tSTATE")
	for _, u := range users {
		state := "active"
		if !u.Active() {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, u.County, u.Township, u.Village, u.Display, state)
	}
	return tw.Flush()
}

// tokensCmd runs `gateway tokens create [-label L] [-ttl D] USER`: an API token for a
// system that calls the API as USER.
func tokensCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	var label string
	var ttl time.Duration
	flags := func(fs *flag.FlagSet) {
		fs.StringVar(&label, "label", "", "what the token is for, e.g. clinic-his")
		fs.DurationVar(&ttl, "ttl", 0, "expire after this long (0: never)")
	}
	return withUser("tokens create", args, stderr, env, flags, func(reg *registry.Store, name string) error {
		token, err := auth.New(auth.Options{Store: reg}).NewAPIToken(ctx, name, label, ttl)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, token)
		return nil
	})
}
