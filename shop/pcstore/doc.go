// Package pcstore links a micro-shop to the PC (desktop web) store its
// merchant already runs: paste the store's address (Shopify, WooCommerce,
// or a Google Merchant feed by URL or upload), see a preview of what would
// be imported, confirm; from then on the catalog stays in sync, and the PC
// store shows the micro-shop's QR code (a widget, or a plain PNG) whose link
// carries the channel pc_store.
//
// # What it owns
//
//   - Link: one per shop, its settings (type, address, WooCommerce key and
//     secret, currency and exchange rates, interval, assumed stock) and its
//     schedule (next run, the run in progress).
//   - Mapping: (source, external id) → product id, with a unique index, and
//     per variant the SKU id, so a re-sync updates the same product and the
//     same SKUs (carts and orders keep pointing at them).
//   - Run: one sync, with created / updated / unchanged / off-sale / failed
//     counts, its duration, a cursor to resume from, and an error per failed
//     product (RunError, unique per run and place in the source).
//   - Uploads: feed files kept in 1 MB chunks in the tenant database, so any
//     replica reads them and an interrupted import of one resumes anywhere
//     (and a Taobao package between its preview and its import).
//   - Image copies: the PC store's image address → its validators, hash
//     and the copy in the shop's image store.
//
// # What is never guessed
//
//   - The currency. A link's currency is known before anything is
//     imported: stated by the store (Shopify's /meta.json, WooCommerce's
//     /data/currencies/current) when the link is saved, or set by the
//     merchant for a store that states none (linking such a store without
//     one is refused). It is kept with the link; every sync asks the store
//     again before reading a price, and fails (recorded with its reason,
//     no price changed) when the store cannot be asked, now states another
//     currency, or no longer states the one it did. A feed's prices name
//     their own currency; the link's is for those that do not, and without
//     one they are refused.
//   - What is not for sale. A price of 0 and product types plugins add
//     (booking, subscription, bundle…) are refused per product with the
//     reason, in the preview and in the run; a product imported before
//     that turns free is taken off sale (and put back when priced again).
//     One bad option (no price, a stock of 16.5) is left out of its
//     product, reported in the preview and the run's notes; the others are
//     imported.
//
// Prices keep their crossed-out price (original_price: Shopify's
// compare_at_price, WooCommerce's regular price beside a sale price, a
// feed's price beside its sale price) and SKUs the merchant's code.
//
// Products themselves stay the catalog's: pcstore uses only catalog.Catalog
// (Create, Patch, Get), and patches only what the PC store owns (title,
// description, price and crossed-out price, stock, images, category, SKUs
// with their codes); whatever else the
// merchant sets in the micro-shop (its status, for one) is left alone.
// Products gone from the PC store are taken off sale, never deleted, and put
// back on sale if they return.
//
// # Exactly once, without transactions
//
//   - A product is created only after its (source, external id) is claimed
//     by a unique insert, so two writers (a replica whose lease lapsed, say)
//     never both create it.
//   - Each mapping records the run that last dealt with it and the outcome,
//     in the same single-record write: a resumed run skips what it already
//     did and recounts its outcomes from the mappings, so counts are exact
//     across crashes; run errors are unique per (run, ref) for the same
//     reason.
//   - Two replicas never sync one shop at once: a run holds the platform
//     lease "pcstore-sync:<tenant>" (tenants.Leaser), renewed while it
//     runs; the scheduler also keeps one run per shop per process.
//
// # Scheduling
//
// (*Syncer).RunDue is the cron job: called every minute, it starts (in the
// background, a few at a time) the syncs of shops whose interval has passed
// since their last sync, and resumes interrupted runs. It keeps the schedule
// in memory and re-reads every shop's link every ten minutes.
//
// # Where things are
//
//   - store.go: the records, the Store interface and the schema;
//     store_sqlite.go and store_mongo.go its two engines; upload.go the
//     chunks both keep uploads in.
//   - syncer.go: the Syncer, pcstore's service, and starting a run;
//     link.go linking (settings checked, previewed, saved); preview.go the
//     preview; sync.go a run from start to finish; apply.go applying items
//     to products through their mappings; schedule.go the cron job.
//   - admin.go, api.go, widget.go: the handlers (console pages, merchant
//     API, the widget PC stores embed); they call the Syncer only.
//   - taobao.go imports Taobao Assistant (淘宝助理) data packages (a run of
//     its own beside the link, source "taobao", by Taobao item id;
//     taobao_http.go its routes); images.go copies the PC store's images
//     into the shop's image store (ImageStore) once, and again only when
//     they changed.
//   - source/ reads the PC stores (source/taobao.go the Taobao package,
//     with its format); feedgen/ writes feeds and Taobao packages for
//     tests and benchmarks.
//
// # Known limits
//
//   - The catalog has no bulk write, so an import costs at least four writes
//     per product (claim, product, catalog stamp, mapping) plus one per SKU;
//     a catalog.CreateMany would roughly halve that (see the benchmark,
//     go run ./scripts/bench -scenario import).
//   - Uploads through the API or the console are bounded by the server's
//     --body-limit (1 MB by default); larger files go through
//     go run ./scripts/import, which streams the file into the store.
//   - The WooCommerce secret is kept in the tenant database as typed (it is
//     needed to call the store); it is never shown again.
package pcstore
