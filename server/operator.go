package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/labstack/echo/v4"

	"microshop/tenants"
	"microshop/tenants/fault"
)

// The platform operator: `microshop operator create EMAIL` and the ops
// console's and operator API's own routes (tenants.OpsWeb).

const operatorUsage = `usage:
  microshop operator create EMAIL [flags]           create a platform operator
  microshop operator create EMAIL --reset [flags]   new credentials for an existing operator

Prints the operator's one-time password (the ops console at /ops/login asks
for a new one at the first sign-in) and an operator API key (mso_...,
Authorization: Bearer on /api/ops/v1). Both are shown this once.

An email that is already an operator's is an error; --reset then gives that
operator a new one-time password and a new API key, revoking the earlier
keys and ending every session.

The command opens the data the server would (the same flags and
environment: --data, --mongodb-uri ...), and may run beside a running
server or before the first start.

flags:
`

// runOperatorCommand is `microshop operator ...`.
func runOperatorCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := commandFlags("microshop operator", operatorUsage, stderr)
	config := bindConfig(fs, getenv)
	reset := fs.Bool("reset", false, "create: give an existing operator a new one-time password and API key")
	words, err := parseWords(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(words) == 2 && words[0] == "create":
	case len(words) > 0 && words[0] == "create":
		return errors.New("operator create takes one email; see microshop operator --help")
	case len(words) == 0:
		fs.Usage()
		return flag.ErrHelp
	default:
		return fmt.Errorf("operator: unknown command %q; see microshop operator --help", words[0])
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	return createOperator(ctx, cfg, words[1], *reset, stdout, newLogger(cfg, stderr, slog.LevelWarn))
}

// createOperator opens the engine cfg names (the platform schema only: no
// shop is touched), creates the operator with email, or resets it, and
// prints its one-time password and API key.
func createOperator(ctx context.Context, cfg Config, email string, reset bool, stdout io.Writer, log *slog.Logger) error {
	e, err := openEngine(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := e.Close(); err != nil {
			log.Error("close database", "err", err)
		}
	}()
	svc := tenants.NewService(e, tenants.NewStore(e), log)
	create, done := svc.CreateOperator, "created"
	if reset {
		create, done = svc.ResetOperator, "reset"
	}
	op, err := create(ctx, email)
	email = strings.ToLower(strings.TrimSpace(email))
	switch {
	case err == nil:
	case reset && errors.Is(err, fault.ErrNotFound):
		return fmt.Errorf("no operator has the email %s; create it without --reset", email)
	case !reset && errors.Is(err, fault.ErrConflict):
		return fmt.Errorf("%w; to give it new credentials run: microshop operator create %s --reset", err, email)
	default:
		return err
	}
	base := strings.TrimSuffix(cfg.BaseURL, "/")
	fmt.Fprintf(stdout, "operator %s: %s (id %s)\n", done, op.Operator.Email, op.Operator.ID)
	fmt.Fprintf(stdout, "one-time password: %s\n", op.Password)
	fmt.Fprintf(stdout, "  sign in at %s/ops/login; the console asks for a password of your own first\n", base)
	fmt.Fprintf(stdout, "operator API key: %s\n", op.APIKey)
	fmt.Fprintf(stdout, "  send it as Authorization: Bearer <key> to %s/api/ops/v1\n", base)
	fmt.Fprintln(stdout, "Both are shown this once; keep them safe.")
	return nil
}

// mountOps mounts the operator's side: the ops console's sign-in (outside
// the operator's session) and pages, the operator API's shop calls, and
// the invitation pages of shops operators open.
func (a *app) mountOps(e *echo.Echo, csrf echo.MiddlewareFunc, codec *tenants.SessionCodec, opsPages, opsAPI *echo.Group) {
	ops := tenants.NewOpsWeb(a.tenants, codec, a.cfg.SecureCookies, a.cfg.BaseURL)
	ops.SignInRoutes(e.Group("/ops"), csrf)
	ops.OpsRoutes(opsPages)
	ops.OpsAPIRoutes(opsAPI)
	ops.InviteRoutes(e.Group("/invite", csrf))
}
