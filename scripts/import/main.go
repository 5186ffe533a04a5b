// Command import links a shop to a PC store (or a feed file) and imports
// its catalog now, with a progress bar on the terminal:
//
//	go run ./scripts/import --shop tea-house --feed https://store.example/feed.xml
//	go run ./scripts/import --shop tea-house --feed ./catalog.tsv --rates USD=7.2315
//	go run ./scripts/import --shop tea-house --type shopify --feed https://tea.myshopify.com
//	go run ./scripts/import --shop tea-house --type woocommerce --feed https://shop.example --key ck_… --secret cs_…
//	go run ./scripts/import --shop tea-house            # sync the shop's saved link again
//	go run ./scripts/import --shop tea-house --type taobao --feed ./宝贝导出.zip   # a Taobao Assistant package
//
// It opens the same data as the server (--data, or --mongodb-uri) and can
// run beside it: the shop's sync lease keeps the two from syncing the shop
// at once, and the storefront picks the changes up within seconds. A file
// is stored like a console upload, so an interrupted import is resumed by
// the next run of this command or by the server. The exit status is 0 when
// the run succeeded (products that failed are listed, not fatal), 1 when it
// failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"microshop/shop/catalog"
	"microshop/shop/image"
	"microshop/shop/pcstore"
	"microshop/shop/pcstore/source"
	"microshop/tenants"
	"microshop/tenants/engine"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "import:", err)
		os.Exit(1)
	}
}

type options struct {
	shop, feed, kind, key, secret, currency, rates string
	data, mongoURI, mongoDB                        string
	assumedStock                                   int64
	allowPrivate, quiet                            bool
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.shop, "shop", "", "the shop's address name (slug), as in /s/<slug>/ (required)")
	fs.StringVar(&o.feed, "feed", "", "the PC store's or feed's address, or a feed file (XML or TSV, may be .gz); empty: the shop's saved link")
	fs.StringVar(&o.kind, "type", "", "shopify, woocommerce, feed or taobao (a Taobao Assistant data package, a .zip file) (default: feed)")
	fs.StringVar(&o.key, "key", "", "WooCommerce REST API consumer key")
	fs.StringVar(&o.secret, "secret", env("PCSTORE_SECRET", ""), "WooCommerce REST API consumer secret (env PCSTORE_SECRET)")
	fs.StringVar(&o.currency, "currency", "", "the store's currency when its prices do not say (default: the store's own, else CNY)")
	fs.StringVar(&o.rates, "rates", "", "exchange rates in yuan per unit, like USD=7.2315,HKD=0.9213")
	fs.Int64Var(&o.assumedStock, "assumed-stock", -1, "stock of products shown as in stock without a count (default 100)")
	fs.StringVar(&o.data, "data", env("MICROSHOP_DATA", "./data"), "SQLite data directory, as the server's --data (env MICROSHOP_DATA)")
	fs.StringVar(&o.mongoURI, "mongodb-uri", env("MONGODB_URI", ""), "MongoDB instead of SQLite, as the server's (env MONGODB_URI)")
	fs.StringVar(&o.mongoDB, "mongodb-db", env("MICROSHOP_MONGODB_DB", "microshop"), "MongoDB platform database (env MICROSHOP_MONGODB_DB)")
	fs.BoolVar(&o.allowPrivate, "allow-private", false, "allow a store on a private or loopback address (your own network)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.shop == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("--shop is required")
	}

	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	schemas := []engine.Schema{catalog.Schema, pcstore.Schema, image.Schema}
	var engine *engine.Engine
	var err error
	if o.mongoURI != "" {
		engine, err = tenants.OpenMongo(ctx, o.mongoURI, o.mongoDB, nil, schemas...)
	} else {
		if _, serr := os.Stat(o.data); serr != nil {
			return fmt.Errorf("no data directory %s: start the server once, or give --data", o.data)
		}
		engine, err = tenants.OpenSQLite(o.data, schemas...)
	}
	if err != nil {
		return err
	}
	defer engine.Close()
	platform := tenants.NewStore(engine)
	shop, err := platform.TenantBySlug(ctx, o.shop)
	if err != nil {
		return fmt.Errorf("shop %q: %w", o.shop, err)
	}
	if err := engine.Provision(ctx, shop.ID); err != nil { // adds pcstore's tables to an older shop
		return err
	}
	cs := catalog.NewStore(engine)
	cat := catalog.New(cs, catalog.NewShelf(cs, time.Second))
	client := source.NewClient()
	client.AllowPrivateNetworks(o.allowPrivate)
	syncer := pcstore.NewSyncer(pcstore.NewStore(engine), cat, tenants.NewLeaser(platform), nil, client, log)
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = syncer.Shutdown(sctx)
	}()
	// Images go into the shop's image store, as the server's syncs do.
	syncer.SetImageStore(shopImages{svc: image.NewService(image.NewStore(engine)), slug: shop.Slug})

	if o.kind == source.Taobao {
		return importTaobao(ctx, syncer, shop, o, stdout)
	}
	if o.feed != "" {
		prev, err := link(ctx, syncer, shop, o)
		if err != nil {
			return err
		}
		printPreview(stdout, prev)
	} else if _, err := syncer.Link(ctx, shop.ID); err != nil {
		return fmt.Errorf("shop %s has no PC store linked: give --feed", shop.Slug)
	}

	r, err := syncer.Start(ctx, shop.ID, "script")
	var busy *pcstore.Busy
	if errors.As(err, &busy) && busy.RunID != "" {
		fmt.Fprintf(stdout, "a sync of %s is already running (run %s); following it\n", shop.Slug, busy.RunID)
		r, err = syncer.Run(ctx, shop.ID, busy.RunID)
	}
	if err != nil {
		return err
	}
	if r.Resumes > 0 {
		fmt.Fprintf(stdout, "resuming run %s (interrupted %d×)\n", r.ID, r.Resumes)
	}
	r, err = follow(ctx, syncer, shop.ID, r.ID, stdout, o.quiet)
	if err != nil {
		return err
	}
	return report(ctx, syncer, shop.ID, r, stdout)
}

// link saves the shop's link from the flags: an address, or a file stored
// as an upload.
func link(ctx context.Context, s *pcstore.Syncer, shop tenants.Tenant, o options) (pcstore.Preview, error) {
	rates, err := pcstore.ParseRates(o.rates)
	if err != nil {
		return pcstore.Preview{}, err
	}
	in := pcstore.LinkInput{Type: o.kind, URL: o.feed, Key: o.key, Secret: o.secret, Currency: o.currency, Rates: rates}
	if in.Type == "" {
		in.Type = source.Feed
	}
	if o.assumedStock >= 0 {
		in.AssumedStock = &o.assumedStock
	}
	if st, err := os.Stat(o.feed); err == nil && !st.IsDir() {
		f, err := os.Open(o.feed)
		if err != nil {
			return pcstore.Preview{}, err
		}
		defer f.Close()
		fmt.Printf("storing %s (%.1f MB)…\n", o.feed, float64(st.Size())/(1<<20))
		_, p, err := s.SaveUpload(ctx, shop.ID, st.Name(), f, in)
		return p, err
	}
	if !strings.Contains(o.feed, "://") && !strings.Contains(o.feed, ".") {
		return pcstore.Preview{}, fmt.Errorf("--feed %q is neither a file nor a web address", o.feed)
	}
	_, p, err := s.SaveLink(ctx, shop.ID, in)
	return p, err
}

func printPreview(w io.Writer, p pcstore.Preview) {
	fmt.Fprintf(w, "preview: %d products read", p.Count)
	if p.Listed > 0 {
		fmt.Fprintf(w, " (the store lists %d)", p.Listed)
	}
	fmt.Fprintf(w, ", %d importable, %d with problems\n", p.Importable, p.ProblemCount)
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
}

// follow draws the run's progress until it ends.
func follow(ctx context.Context, s *pcstore.Syncer, tenantID, runID string, w io.Writer, quiet bool) (pcstore.Run, error) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		r, err := s.Run(context.WithoutCancel(ctx), tenantID, runID)
		if err != nil {
			return r, err
		}
		if !quiet {
			fmt.Fprintf(w, "\r%s", bar(r))
		}
		if r.Status != pcstore.Running {
			if !quiet {
				fmt.Fprintln(w)
			}
			return r, nil
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(w, "\ninterrupted: run %s stops here and resumes at the next sync (this command, or the server's schedule)\n", runID)
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_ = s.Shutdown(sctx)
			return s.Run(context.Background(), tenantID, runID)
		case <-t.C:
		}
	}
}

// bar is one line of progress: [#####.....] 52% 10400 done (created …).
func bar(r pcstore.Run) string {
	const width = 30
	frac := -1.0
	switch {
	case r.Status == pcstore.Succeeded:
		frac = 1
	case r.BytesTotal > 0:
		frac = float64(r.BytesRead) / float64(r.BytesTotal)
	case r.Total > 0:
		frac = float64(r.Counts.Done()) / float64(r.Total)
	}
	c := r.Counts
	counts := fmt.Sprintf("%d done: %d created, %d updated, %d unchanged, %d off sale, %d failed  %s",
		c.Done(), c.Created, c.Updated, c.Unchanged, c.OffSale, c.Failed, (time.Duration(r.ActiveMS) * time.Millisecond).Round(100*time.Millisecond))
	if frac < 0 {
		return "[" + strings.Repeat("?", width) + "] " + counts
	}
	frac = min(max(frac, 0), 1)
	n := int(frac * width)
	return fmt.Sprintf("[%s%s] %3d%% %s", strings.Repeat("#", n), strings.Repeat(".", width-n), int(frac*100), counts)
}

func report(ctx context.Context, s *pcstore.Syncer, tenantID string, r pcstore.Run, w io.Writer) error {
	errs, err := s.RunErrors(ctx, tenantID, r.ID, 0, 20)
	if err != nil {
		return err
	}
	for _, e := range errs {
		fmt.Fprintf(w, "  failed %s %s: %s\n", e.Ref, e.ExternalID, e.Message)
	}
	if int64(len(errs)) < r.Counts.Failed {
		fmt.Fprintf(w, "  … and %d more: GET /api/v1/pcstore/runs/%s\n", r.Counts.Failed-int64(len(errs)), r.ID)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintf(w, "run %s %s in %s\n", r.ID, r.Status, r.Took())
	if r.Status != pcstore.Succeeded {
		if r.Error != "" {
			return errors.New(r.Error)
		}
		return fmt.Errorf("run %s %s", r.ID, r.Status)
	}
	return nil
}

// shopImages puts images into the shop's image store (pcstore.ImageStore),
// addressed as the storefront serves them.
type shopImages struct {
	svc  *image.Service
	slug string
}

func (s shopImages) PutImage(ctx context.Context, tenantID string, data []byte) (string, error) {
	img, err := s.svc.Put(ctx, tenantID, data)
	if err != nil {
		return "", err
	}
	return image.URL(s.slug, img.ID), nil
}

// importTaobao previews and imports a Taobao Assistant data package.
func importTaobao(ctx context.Context, s *pcstore.Syncer, shop tenants.Tenant, o options, stdout io.Writer) error {
	f, err := os.Open(o.feed)
	if err != nil {
		return fmt.Errorf("--feed: the Taobao package file: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, pcstore.MaxTaobaoPackage+1))
	f.Close()
	if err != nil {
		return err
	}
	p, err := s.PreviewTaobao(ctx, shop.ID, data)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "preview: %d items, %d importable (%d new, %d to update), %d with problems, %d pictures\n",
		p.Count, p.Importable, p.New, p.Existing, p.ProblemCount, p.Pictures)
	r, err := s.ImportTaobao(ctx, shop.ID, filepath.Base(o.feed), data)
	if err != nil {
		return err
	}
	if r, err = follow(ctx, s, shop.ID, r.ID, stdout, o.quiet); err != nil {
		return err
	}
	return report(ctx, s, shop.ID, r, stdout)
}
