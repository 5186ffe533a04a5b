// Package imagetest makes the files the image store's tests upload: plain
// pictures, a JPEG carrying EXIF (orientation and a GPS marker), a PNG with
// a payload after its end, and a pixel bomb. Only tests import it.
package imagetest

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
)

// Secret is the text the EXIF block of EXIFJPEG carries (as a GPS-like
// note): a re-encoded image must not contain it.
const Secret = "GPS 31.2304N 121.4737E secret"

// Payload is what PolyglotPNG carries after the PNG's end.
const Payload = "<html><script>alert(document.cookie)</script></html>"

// picture is a w × h gradient (varying content, so encoders cannot make
// it trivially small), seeded by seed so two calls can differ.
func picture(w, h, seed int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{R: uint8(x*255/max(1, w-1) + seed), G: uint8(y * 255 / max(1, h-1)), B: uint8((x + y + seed*7) % 256), A: 255})
		}
	}
	return img
}

// PNG is a w × h PNG picture; seed varies its pixels.
func PNG(w, h, seed int) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, picture(w, h, seed)); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// JPEG is a w × h JPEG picture; seed varies its pixels.
func JPEG(w, h, seed int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, picture(w, h, seed), &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// EXIFJPEG is a w × h JPEG with an EXIF block (APP1) saying orientation o
// (6: shown turned right, so the upright picture is h × w) and carrying
// Secret as an image description.
func EXIFJPEG(w, h, seed, o int) []byte {
	plain := JPEG(w, h, seed)
	// TIFF, little-endian: header, IFD0 with two entries (orientation,
	// image description pointing after the IFD), next IFD 0, the text.
	desc := append([]byte(Secret), 0)
	var t bytes.Buffer
	t.WriteString("II")
	le := binary.LittleEndian
	_ = binary.Write(&t, le, uint16(42))
	_ = binary.Write(&t, le, uint32(8))
	_ = binary.Write(&t, le, uint16(2))
	// 0x010E ImageDescription, ASCII(2), count, offset
	_ = binary.Write(&t, le, uint16(0x010E))
	_ = binary.Write(&t, le, uint16(2))
	_ = binary.Write(&t, le, uint32(len(desc)))
	_ = binary.Write(&t, le, uint32(8+2+2*12+4))
	// 0x0112 Orientation, SHORT(3), 1, value
	_ = binary.Write(&t, le, uint16(0x0112))
	_ = binary.Write(&t, le, uint16(3))
	_ = binary.Write(&t, le, uint32(1))
	_ = binary.Write(&t, le, uint16(o))
	_ = binary.Write(&t, le, uint16(0))
	_ = binary.Write(&t, le, uint32(0))
	t.Write(desc)
	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	var out bytes.Buffer
	out.Write(plain[:2]) // SOI
	out.Write([]byte{0xFF, 0xE1})
	_ = binary.Write(&out, binary.BigEndian, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(plain[2:])
	return out.Bytes()
}

// PolyglotPNG is a PNG followed by an HTML page with a script: a browser
// sniffing it might run the script, a PNG decoder stops before it.
func PolyglotPNG(w, h int) []byte {
	return append(PNG(w, h, 3), []byte(Payload)...)
}

// PixelBomb is a small PNG whose header says it is side × side pixels
// (its pixel data is that of a 1 × 1 image: decoding would fail, but a
// decoder that trusted the header would allocate side² × 4 bytes first).
func PixelBomb(side uint32) []byte {
	b := PNG(1, 1, 0)
	// The IHDR chunk follows the 8-byte signature: length(4) "IHDR" width height ...
	binary.BigEndian.PutUint32(b[16:], side)
	binary.BigEndian.PutUint32(b[20:], side)
	crc := crc32.ChecksumIEEE(b[12 : 12+4+13])
	binary.BigEndian.PutUint32(b[12+4+13:], crc)
	return b
}
