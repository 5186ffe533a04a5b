// Package distribution grows a shop through people: shopping guides whose
// QR codes attribute fans and orders to them (package guide), distributors
// who share the shop and recruit others (the team tree, package tree), and
// the commission they earn (the ledger, package ledger).
//
// This package holds what ties them to the shop: the settings, the
// customer binding (who earns on a customer's orders, set by touches under
// the shop's policy, with an audit trail), the order Attributor that
// snapshots guide, store, distributor and commission path into every new
// order, the order Subscriber that turns paid, refunded and completed
// orders into ledger entries and counters, the storefront middleware that
// records touches (?g=, ?d=, ?ch=), the WeChat scene hook, the cron pass,
// and the HTTP surface (merchant API, console, distributor centre).
//
// Two relationships are kept apart on purpose. The team tree says who
// recruited whom and changes only by a merchant's move. The binding says
// who earns on this customer and follows the touch policy. An order
// snapshots the binding and the path when it is placed; later rebinding
// never moves it.
//
// # Exactly once
//
//   - Commission: one ledger entry per (order, level, beneficiary), keyed
//     by that triple (package ledger); refunds, settlements and withdrawals
//     are entries keyed by what caused them, chained per beneficiary by a
//     unique sequence number. All unique inserts.
//   - Counters (the guide funnel, team sales, a fan's paid orders): moved
//     only by the delivery that inserted the event's record first (a sale
//     keyed by order id, a marker keyed by order and refund). A crash
//     between that insert and the increment leaves a counter short until
//     the rebuild job; money never rests on a counter.
//   - One distributor per fan: a unique fan id on insert.
//   - A binding changes by compare-and-set on its revision (one record):
//     of two racing touches one applies, the other re-reads and decides
//     again under the policy.
//
// # Files
//
// The service: service.go (wiring), settings.go, binding.go (the binding
// and its policy), touch.go (touches that bind), customers.go (bindings a
// merchant changes, fan merges), attribution.go (who gets credit for an
// order), commission.go (what each level earns; order events into sales
// and ledger entries), team.go (joining, the team's lists), withdrawals.go,
// centre.go (a distributor's own view), qr.go, jobs.go; store*.go keep
// settings, bindings, sales and markers on both engines. The HTTP surface:
// api.go (merchant API routes and helpers) with guides_api.go,
// distributors_api.go, ledger_api.go and customers_api.go; admin.go
// (console routes) with admin_guides.go, admin_distribution.go,
// admin_ledger.go and settings_form.go; storefront.go (touches, the
// distributor centre).
package distribution
