package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"casescope/store"
)

const userUsage = `usage:
  casescope user add NAME [--role admin|analyst|read-only] [--password-stdin]
  casescope user passwd NAME [--password-stdin]
  casescope user list [--json]
  casescope user disable NAME
  casescope user enable NAME
Without --password-stdin a random password is generated and printed once.`

func cmdUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, userUsage)
		return exitCode(2)
	}
	sub, rest := args[0], args[1:]
	var c common
	fs := newFlags("user "+sub, stderr, &c)
	role := fs.String("role", store.RoleAnalyst, "role: admin, analyst or read-only")
	fromStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	asJSON := fs.Bool("json", false, "print JSON (list)")
	// The user name comes first; flags follow it.
	var name string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		name, rest = rest[0], rest[1:]
	}
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if name == "" && sub != "list" {
		fmt.Fprintln(stderr, userUsage)
		return exitCode(2)
	}
	a, err := c.open(ctx, stderr, false)
	if err != nil {
		return err
	}
	defer a.close()
	audit := func(action, outcome string) {
		_ = a.ledger.Audit(store.AuditEntry{Actor: "cli:" + os.Getenv("USER"), Role: store.RoleAdmin, Remote: "local", Action: action, Target: name, Outcome: outcome})
	}
	password := func() (string, bool, error) {
		if !*fromStdin {
			return store.RandomPassword(), true, nil
		}
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			return "", false, fmt.Errorf("read password: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), false, nil
	}
	switch sub {
	case "add":
		pw, generated, err := password()
		if err != nil {
			return err
		}
		if _, err := a.ledger.CreateUser(name, *role, pw); err != nil {
			audit("user.create", "failed")
			return err
		}
		audit("user.create", "ok")
		if generated {
			fmt.Fprintf(stdout, "user %s (%s) created; password (shown once): %s\n", name, *role, pw)
		} else {
			fmt.Fprintf(stdout, "user %s (%s) created\n", name, *role)
		}
	case "passwd":
		pw, generated, err := password()
		if err != nil {
			return err
		}
		if err := a.ledger.SetPassword(name, pw); err != nil {
			audit("user.passwd", "failed")
			return err
		}
		audit("user.passwd", "ok")
		if generated {
			fmt.Fprintf(stdout, "new password for %s (shown once): %s\n", name, pw)
		}
	case "disable", "enable":
		if _, err := a.ledger.UpdateUser(name, func(u *store.User) error { u.Disabled = sub == "disable"; return nil }); err != nil {
			audit("user."+sub, "failed")
			return err
		}
		audit("user."+sub, "ok")
	case "list":
		users, err := a.ledger.Users()
		if err != nil {
			return err
		}
		type view struct {
			Name      string `json:"name"`
			Role      string `json:"role"`
			Disabled  bool   `json:"disabled"`
			LastLogin string `json:"last_login,omitempty"`
		}
		out := []view{}
		for _, u := range users {
			v := view{Name: u.Name, Role: u.Role, Disabled: u.Disabled}
			if !u.LastLogin.IsZero() {
				v.LastLogin = u.LastLogin.Format("2006-01-02T15:04:05Z")
			}
			out = append(out, v)
		}
		if *asJSON {
			return json.NewEncoder(stdout).Encode(out)
		}
		for _, v := range out {
			fmt.Fprintf(stdout, "%-20s %-10s disabled=%v last_login=%s\n", v.Name, v.Role, v.Disabled, v.LastLogin)
		}
	default:
		fmt.Fprintln(stderr, userUsage)
		return exitCode(2)
	}
	return nil
}

// ensureAdmin creates the first admin on a fresh data directory, with a
// random password printed once. There is never a default password.
func ensureAdmin(l *store.Ledger, stdout io.Writer) error {
	users, err := l.Users()
	if err != nil {
		return err
	}
	if len(users) > 0 {
		return nil
	}
	pw := store.RandomPassword()
	if _, err := l.CreateUser("admin", store.RoleAdmin, pw); err != nil {
		return fmt.Errorf("create first admin: %w", err)
	}
	_ = l.Audit(store.AuditEntry{Actor: "system", Action: "user.create", Target: "admin", Outcome: "ok", Detail: "first run"})
	fmt.Fprintf(stdout, "\nFirst run: created user \"admin\" with password %s\nIt is shown only this once; change it with: casescope user passwd admin\n\n", pw)
	return nil
}
