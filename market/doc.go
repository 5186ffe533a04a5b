// Package market owns the platform's market: the shops that chose to be
// listed, the product index that finds them across the platform (Chinese
// text by character n-grams, no per-shop database opened on a search), the
// published ranking formula (quality, never ad spend), shoppers' reports of
// counterfeit or prohibited goods and the operator's delisting.
//
// Its records live in the platform database (engine.ExtendPlatform): a
// listing per shop and one item per listed on-sale product, fed from the
// catalog's changes on the replica that made them (catalog.Shelf.Watch).
// Every replica keeps its own in-memory index, following the items table
// by update time; the table is the truth, the index a copy rebuilt from it.
// The formula's sales are counted from the shops' order events (sales.go),
// brushing left out, once a minute, never per search.
package market
