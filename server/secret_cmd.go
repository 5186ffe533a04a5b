package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/secret"
	"microshop/tenants/wechat"
)

// `microshop secret reseal`: after the key sealing secrets at rest was
// rotated (the new key in --secret-key, the old one in
// --secret-key-previous), every stored secret sealed with the old key, or
// not sealed yet, is written again sealed with the new one; then the old
// key can be dropped. See docs/ARCHITECTURE.md, "Rotating the key".

const secretUsage = `usage:
  microshop secret reseal [--dry-run] [flags]   seal every stored secret with the current key

Rotating the key that seals the secrets kept at rest (WeChat AppSecrets,
message keys and refresh tokens, WeChat Pay keys):

  1. generate a key: head -c 32 /dev/urandom | base64
  2. restart every replica with it in --secret-key (MICROSHOP_SECRET_KEY)
     and the old key in --secret-key-previous (MICROSHOP_SECRET_KEY_PREVIOUS)
  3. run microshop secret reseal with the same two settings
  4. restart every replica without --secret-key-previous

reseal walks the platform's WeChat records (the third-party platform's
settings, every shop's authorisation) and every shop's WeChat settings and
WeChat Pay keys, and writes again each record holding a value sealed with a
previous key, or not sealed yet, sealed with the current key. Running it
again changes nothing. It prints how many records of each kind it resealed
and how many were sealed with the current key already, and exits non-zero
when a record holds a secret no key opens (it is left as it is: its owner
enters it again) or could not be written. It refuses to run while a live
replica still seals with another key. --dry-run only counts.

The command opens the data the server would (the same flags and
environment: --data, --mongodb-uri ...) and may run beside the servers.

flags:
`

// runSecretCommand is `microshop secret ...`.
func runSecretCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := commandFlags("microshop secret", secretUsage, stderr)
	config := bindConfig(flags, getenv)
	dryRun := flags.Bool("dry-run", false, "reseal: count what would be resealed, write nothing")
	words, err := parseWords(flags, args)
	if err != nil {
		return err
	}
	switch {
	case len(words) == 1 && words[0] == "reseal":
	case len(words) == 0:
		flags.Usage()
		return flag.ErrHelp
	default:
		return fmt.Errorf("secret: unknown command %q; see microshop secret --help", strings.Join(words, " "))
	}
	cfg, err := config()
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr, slog.LevelWarn)
	e, err := openEngine(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := e.Close(); err != nil {
			log.Error("close database", "err", err)
		}
	}()
	return resealSecrets(ctx, cfg, e, *dryRun, stdout, log)
}

// resealKind is the tally of one kind of record.
type resealKind struct {
	name                             string
	resealed, current, wrong, failed int
}

func (k *resealKind) add(out secret.Outcome, err error) {
	switch {
	case errors.Is(err, secret.ErrWrongKey):
		k.wrong++
	case err != nil:
		k.failed++
	case out == secret.Resealed:
		k.resealed++
	case out == secret.Current:
		k.current++
	}
}

func (k *resealKind) String(dryRun bool) string {
	verb := "resealed"
	if dryRun {
		verb = "to reseal"
	}
	s := fmt.Sprintf("%s: %d %s, %d already current", k.name, k.resealed, verb, k.current)
	if k.wrong > 0 {
		s += fmt.Sprintf(", %d opened by no key (left as they are)", k.wrong)
	}
	if k.failed > 0 {
		s += fmt.Sprintf(", %d failed", k.failed)
	}
	return s
}

// resealSecrets reseals every secret at rest on e with the key cfg gives
// (secretBox) and prints what it did; with dryRun it only counts.
func resealSecrets(ctx context.Context, cfg Config, e *engine.Engine, dryRun bool, stdout io.Writer, log *slog.Logger) error {
	// The key must be one the servers use: never one made up here.
	if cfg.SecretKey == "" {
		dir := secretKeyDir(cfg, e)
		if dir == "" {
			return errors.New("no key to reseal with: set --secret-key (MICROSHOP_SECRET_KEY)")
		}
		if _, err := os.Stat(filepath.Join(dir, secret.KeyFile)); errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no key to reseal with: set --secret-key (MICROSHOP_SECRET_KEY), or --data to the directory of the key file (%s not found)",
				filepath.Join(dir, secret.KeyFile))
		}
	}
	box, err := secretBox(cfg, e, log)
	if err != nil {
		return err
	}
	prev := "none"
	if ids := box.PreviousIDs(); len(ids) > 0 {
		prev = strings.Join(ids, ", ")
	}
	fmt.Fprintf(stdout, "sealing with key %s; previous keys: %s\n", box.ID(), prev)

	// A replica still sealing with another key would write what the
	// previous keys, once dropped, no longer open.
	others, err := replicasOnOtherKeys(ctx, e, box)
	if err != nil {
		return err
	}
	for _, r := range others {
		msg := fmt.Sprintf("the replica %s on %s seals with key %s, not %s: restart every replica with the new --secret-key (and the old key in --secret-key-previous) first",
			r.ID, r.Host, r.KeyID, box.ID())
		if !dryRun {
			return errors.New(msg)
		}
		fmt.Fprintln(stdout, "warning:", msg)
	}

	resealer, err := wechat.NewResealer(ctx, e, box)
	if err != nil {
		return err
	}
	platform := tenants.NewService(e, tenants.NewStore(e), log)
	ids, err := platform.TenantIDs(ctx)
	if err != nil {
		return fmt.Errorf("list shops: %w", err)
	}
	shopName := func(id string) string {
		if t, err := platform.TenantByID(ctx, id); err == nil {
			return t.Slug + " (" + id + ")"
		}
		return id
	}
	component := &resealKind{name: "wechat third-party platform"}
	auths := &resealKind{name: "wechat authorisations"}
	settings := &resealKind{name: "wechat settings"}
	pay := &resealKind{name: "wechat pay keys"}
	record := func(k *resealKind, shop string, out secret.Outcome, err error) {
		k.add(out, err)
		switch {
		case errors.Is(err, secret.ErrWrongKey):
			fmt.Fprintf(stdout, "%s%s: a stored secret opens with no key given; left as it is (its owner enters it again)\n", k.name, shop)
		case err != nil:
			fmt.Fprintf(stdout, "%s%s: %v\n", k.name, shop, err)
		}
	}

	out, err := resealer.Component(ctx, dryRun)
	record(component, "", out, err)
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		shop := " of shop " + shopName(id)
		out, err := resealer.Authorization(ctx, id, dryRun)
		record(auths, shop, out, err)
		out, err = resealer.Settings(ctx, id, dryRun)
		record(settings, shop, out, err)
		out, err = order.Reseal(ctx, e, box, id, dryRun)
		record(pay, shop, out, err)
	}

	var left, resealed int
	for _, k := range []*resealKind{component, auths, settings, pay} {
		fmt.Fprintln(stdout, k.String(dryRun))
		left += k.wrong + k.failed
		resealed += k.resealed
	}
	switch {
	case left > 0:
		return fmt.Errorf("%d records were not resealed (see above); every other secret is sealed with key %s", left, box.ID())
	case dryRun:
		fmt.Fprintf(stdout, "dry run: nothing written; %d records to reseal over %d shops\n", resealed, len(ids))
	case len(box.PreviousIDs()) > 0:
		fmt.Fprintf(stdout, "every stored secret is sealed with key %s: the previous keys can be dropped (--secret-key-previous)\n", box.ID())
	default:
		fmt.Fprintf(stdout, "every stored secret is sealed with key %s\n", box.ID())
	}
	return nil
}

// replicasOnOtherKeys lists the live replicas of e's register that seal
// with a key other than box's current one (a replica recording no key id,
// from before key ids, is not one).
func replicasOnOtherKeys(ctx context.Context, e *engine.Engine, box *secret.Box) ([]replicaRecord, error) {
	if err := e.ExtendPlatform(ctx, engine.Platform{SQLite: replicasSQLite, Mongo: replicasMongo}); err != nil {
		return nil, fmt.Errorf("replicas register: %w", err)
	}
	rs, err := (&app{engine: e}).replicas(ctx)
	if err != nil {
		return nil, err
	}
	var out []replicaRecord
	for _, r := range rs {
		if time.Since(r.SeenAt) <= replicaStale && r.KeyID != "" && r.KeyID != box.ID() {
			out = append(out, r)
		}
	}
	return out, nil
}
