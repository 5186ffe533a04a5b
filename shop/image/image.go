package image

import (
	"strings"
	"time"

	"microshop/tenants/engine"
)

// Limits of what the store accepts; an upload beyond them is a 4xx.
const (
	// MaxSize is the largest upload accepted, in bytes (413 beyond it).
	MaxSize = 10 << 20
	// MaxPixels is the largest image accepted, width × height, checked
	// from the header before the image is decoded (a pixel bomb is a
	// small file that decodes into gigabytes).
	MaxPixels = 40_000_000
	// ThumbSide is the longest side of a thumbnail, in pixels.
	ThumbSide = 320
	// jpegQuality is the quality JPEGs are re-encoded at.
	jpegQuality = 85
)

// Content types the store keeps (what it re-encodes into).
const (
	JPEG = "image/jpeg"
	PNG  = "image/png"
)

// Image is one stored image of a shop: the bytes as re-encoded by the
// store (SHA256 is their hash, Size their length) and its thumbnail (the
// image itself when it is no larger than ThumbSide).
type Image struct {
	ID          string    `json:"id" bson:"_id"`
	SHA256      string    `json:"sha256" bson:"sha256"`
	ContentType string    `json:"content_type" bson:"content_type"`
	Width       int       `json:"width" bson:"width"`
	Height      int       `json:"height" bson:"height"`
	Size        int64     `json:"size" bson:"size"`
	CreatedAt   time.Time `json:"created_at" bson:"created_at"`
	// ThumbID names the thumbnail's bytes (ID when the image is its own
	// thumbnail); the thumbnail has the image's content type.
	ThumbID     string `json:"-" bson:"thumb_id"`
	ThumbSize   int64  `json:"-" bson:"thumb_size"`
	ThumbWidth  int    `json:"-" bson:"thumb_width"`
	ThumbHeight int    `json:"-" bson:"thumb_height"`
	// SourceSHA256 is the hash of the upload that made the image, so the
	// same upload again is answered without decoding it.
	SourceSHA256 string `json:"-" bson:"source_sha256"`
}

// URL is where the storefront of the shop with slug serves image id.
func URL(slug, id string) string { return "/s/" + slug + "/img/" + id }

// ThumbURL is where the storefront serves image id's thumbnail.
func ThumbURL(slug, id string) string { return URL(slug, id) + "/thumb" }

// IDFromURL is the id of the shop's image s names: a bare image id, or the
// path URL or ThumbURL gives for the shop with slug; "" for anything else.
// Domains that take images as ids or as the URLs the upload answered use it.
func IDFromURL(slug, s string) string {
	if engine.ValidID(s) {
		return s
	}
	rest, ok := strings.CutPrefix(s, "/s/"+slug+"/img/")
	if !ok {
		return ""
	}
	rest = strings.TrimSuffix(rest, "/thumb")
	if engine.ValidID(rest) {
		return rest
	}
	return ""
}
