package image

import (
	"bytes"
	"encoding/binary"
	stdimage "image"
	"image/draw"
	_ "image/gif" // registers the GIF decoder
	"image/jpeg"
	"image/png"

	xdraw "golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // registers the WebP decoder

	"microshop/tenants/fault"
)

// encoded is an upload made safe: the re-encoded image and its thumbnail.
type encoded struct {
	contentType   string
	data          []byte
	width, height int
	thumb         []byte // nil: the image is its own thumbnail
	thumbW        int
	thumbH        int
}

// errNotImage is the answer to a file that is not a picture the store takes.
func errNotImage() error {
	return fault.Invalid("file", "the file is not a JPEG, PNG, GIF or WebP image")
}

// process checks an upload and re-encodes it: the header first (type,
// dimensions: a pixel bomb is refused before it is decoded), then the
// pixels, then fresh bytes from them alone, so that nothing else the file
// carried (EXIF and its GPS position, comments, ICC profiles, a payload
// after the image's end) reaches the store. A JPEG's EXIF orientation is
// applied to the pixels before it is dropped. GIFs keep their first frame.
func process(data []byte) (encoded, error) {
	if len(data) > MaxSize {
		return encoded{}, errTooLarge()
	}
	cfg, format, err := stdimage.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return encoded{}, errNotImage()
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return encoded{}, errNotImage()
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return encoded{}, fault.Invalid("file", "the image is %d × %d pixels, more than %d in all", cfg.Width, cfg.Height, MaxPixels)
	}
	src, _, err := stdimage.Decode(bytes.NewReader(data))
	if err != nil {
		return encoded{}, fault.Invalid("file", "the image is damaged and cannot be read")
	}
	var out encoded
	switch format {
	case "jpeg":
		src = orient(src, exifOrientation(data))
		out.contentType = JPEG
	case "png", "gif":
		out.contentType = PNG
	case "webp":
		out.contentType = PNG
		if opaque(src) {
			out.contentType = JPEG
		}
	default:
		return encoded{}, errNotImage()
	}
	b := src.Bounds()
	out.width, out.height = b.Dx(), b.Dy()
	if out.data, err = encode(out.contentType, src); err != nil {
		return encoded{}, err
	}
	if tw, th, ok := thumbSize(out.width, out.height); ok {
		var dst draw.Image
		if out.contentType == JPEG {
			dst = stdimage.NewRGBA(stdimage.Rect(0, 0, tw, th))
		} else {
			dst = stdimage.NewNRGBA(stdimage.Rect(0, 0, tw, th))
		}
		xdraw.BiLinear.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
		if out.thumb, err = encode(out.contentType, dst); err != nil {
			return encoded{}, err
		}
		out.thumbW, out.thumbH = tw, th
	}
	return out, nil
}

// thumbSize is the size of the thumbnail of a w × h image (longest side
// ThumbSide), and false when the image is no larger than that.
func thumbSize(w, h int) (int, int, bool) {
	if w <= ThumbSide && h <= ThumbSide {
		return w, h, false
	}
	if w >= h {
		return ThumbSide, max(1, (h*ThumbSide+w/2)/w), true
	}
	return max(1, (w*ThumbSide+h/2)/h), ThumbSide, true
}

func encode(contentType string, img stdimage.Image) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if contentType == JPEG {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality})
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		return nil, fault.Invalid("file", "the image is damaged and cannot be read")
	}
	return buf.Bytes(), nil
}

// opaque reports whether img has no transparent pixel.
func opaque(img stdimage.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

// exifOrientation reads the orientation tag (1-8) of a JPEG's EXIF block;
// 1 (as stored) when there is none or it cannot be read.
func exifOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	p := 2
	for p+4 <= len(data) {
		if data[p] != 0xFF {
			return 1
		}
		marker := data[p+1]
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image: no EXIF before
			return 1
		}
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if n < 2 || p+2+n > len(data) {
			return 1
		}
		seg := data[p+4 : p+2+n]
		if marker == 0xE1 && len(seg) > 14 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		p += 2 + n
	}
	return 1
}

// tiffOrientation finds tag 0x0112 in the first IFD of a TIFF header.
func tiffOrientation(t []byte) int {
	var order binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	ifd := int(order.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	count := int(order.Uint16(t[ifd:]))
	for i := 0; i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(t) {
			return 1
		}
		if order.Uint16(t[e:]) == 0x0112 && order.Uint16(t[e+2:]) == 3 { // orientation, SHORT
			if v := int(order.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// orient turns img upright as EXIF orientation o says it should be shown.
func orient(img stdimage.Image, o int) stdimage.Image {
	if o <= 1 || o > 8 {
		return img
	}
	b := img.Bounds()
	src := stdimage.NewRGBA(stdimage.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 { // 5-8 swap the sides
		dw, dh = h, w
	}
	dst := stdimage.NewRGBA(stdimage.Rect(0, 0, dw, dh))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var dx, dy int
			switch o {
			case 2: // mirrored
				dx, dy = w-1-x, y
			case 3: // upside down
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored upside down
				dx, dy = x, h-1-y
			case 5: // mirrored, turned left
				dx, dy = y, x
			case 6: // turned left: turn right
				dx, dy = h-1-y, x
			case 7: // mirrored, turned right
				dx, dy = h-1-y, w-1-x
			case 8: // turned right: turn left
				dx, dy = y, w-1-x
			}
			si, di := src.PixOffset(x, y), dst.PixOffset(dx, dy)
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
	return dst
}
