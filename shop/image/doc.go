// Package image owns a shop's image store: the pictures merchants upload for
// their products and shoppers for after-sale requests and reviews. An upload
// is checked (size, type by decoding, pixel count before decoding), then
// re-encoded so no metadata (EXIF, GPS), no trailing payload (a polyglot
// file) and nothing the decoder ignored survives; a thumbnail is made beside
// it. Images are deduplicated per shop by the hash of the stored bytes.
//
// The package holds the metadata records and the bytes on both engines (in
// the shop's SQLite file; in chunk documents of the shop's Mongo database),
// the service other domains call (Put, Exists), and the HTTP handlers: the
// merchant API's upload, the console's upload, the shoppers' upload and the
// storefront's serving of images and thumbnails with long cache headers.
package image
