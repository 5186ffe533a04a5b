package source

// The Taobao Assistant (淘宝助理) data package: what a Taobao or Tmall
// seller can export of their items, a zip holding a CSV in Taobao
// Assistant's own format and a folder of the items' pictures.
//
// The format, as Taobao Assistant writes it and as the tools that make
// packages for it write it (no official specification is published; these
// were read to confirm it):
//
//   - Exporters in public repositories writing "version 1.00", the English
//     header and the Chinese header of Taobao Assistant 5 (for instance
//     com.tzmb2c UserConsumerCollectAction.exportZip, a C# data-package
//     maker writing tab-separated rows), and package makers documenting the
//     picture and skuProps fields in comments (a Montbell importer's
//     "picture 新图片：1128533_dkfs:1:0:|;…1128533_dkfs:2:0:1627207:28320|;",
//     "propAlias 销售属性别名：20509:28381:size1;…", "input_custom_cpv
//     自定义属性值：1627207:-1001:color1;…"; a Python package maker's
//     "销售属性组合 20:19::1627207:28326;20549:29544;" = price 20, quantity 19,
//     no code, colour 28326, shoe size 29544).
//
// The file, line by line:
//
//  1. "version 1.00" (the format's version).
//  2. The English column names: title, cid, seller_cids, stuff_status,
//     location_state, location_city, item_type, price, auction_increment,
//     num, valid_thru, freight_payer, post_fee, ems_fee, express_fee,
//     has_invoice, has_warranty, approve_status, has_showcase, list_time,
//     description, cateProps, postage_id, has_discount, modified,
//     upload_fail_msg, picture_status, auction_point, picture, video,
//     skuProps, inputPids, inputValues, outer_id, propAlias, auto_fill,
//     num_id, local_cid, navigation_type, user_name, syncStatus,
//     is_lighting_consigment, is_xinpin, foodparame, features, buyareatype,
//     global_stock_type, global_stock_country, sub_stock_type, item_size,
//     item_weight, sell_promise, custom_design_flag, wireless_desc, barcode,
//     sku_barcode, newprepay, subtitle, cpv_memo, input_custom_cpv,
//     qualification, add_qualification, o2o_bind_service (older versions
//     have fewer; columns are found by name, never by place).
//  3. The same columns in Chinese (宝贝名称, 宝贝类目, 店铺类目, …).
//  4. One row per item.
//
// Newer versions write UTF-16LE with a byte-order mark, fields separated by
// tabs; older ones GBK (or UTF-8) with commas. Fields holding separators,
// quotes or line breaks (the HTML description) are in double quotes, a
// quote inside doubled, as in RFC 4180.
//
// What is read of a row:
//
//   - title (宝贝名称), description (宝贝描述, HTML: made plain text as the
//     other sources' descriptions), price (宝贝价格, yuan) and num (宝贝数量,
//     stock), outer_id (商家编码, the merchant's code), num_id (数字ID: the
//     Taobao item id, the item's id here; 0 for an item never published,
//     which is then known by its outer_id).
//   - skuProps (销售属性组合): the SKUs, each "price:quantity:code:pid:vid;"
//     followed by more "pid:vid;" pairs, one pair per sales property (colour,
//     size). Properties are named by a small table of Taobao's common ones
//     (1627207 颜色分类, 20509 尺码, 20549 鞋码), values by propAlias
//     (销售属性别名, "pid:vid:alias;", the seller's names of Taobao's standard
//     values) and input_custom_cpv (自定义属性值, "pid:vid:name;", values the
//     seller made up, negative vids). A SKU is named "颜色分类:红色;尺码:XL".
//   - picture (新图片): "name:kind:position:|url;" per picture, kind 1 the
//     item's main pictures in order of position, kind 2 a sales property's
//     picture ("name:2:0:pid:vid|;"). name is the file <name>.tbi (JPEG
//     bytes) in the package's picture folder; a picture not in the package
//     but with an address after "|" is read from that address.

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"microshop/tenants/fault"
)

// Taobao is the source type of a Taobao Assistant data package.
const Taobao = "taobao"

// Limits on what a package may hold: a zip is small, what it unpacks to
// need not be (a zip bomb), so every read is bounded.
const (
	// MaxPictureBytes bounds one picture as unpacked (the image store's
	// limit).
	MaxPictureBytes = 10 << 20
	// maxTaobaoCSV bounds a CSV as unpacked.
	maxTaobaoCSV = 32 << 20
	// maxTaobaoEntries bounds the files in a package.
	maxTaobaoEntries = 20_000
	// maxTaobaoCSVs bounds the CSV files read from one package.
	maxTaobaoCSVs = 10
	// maxTaobaoRows bounds the items of one package.
	maxTaobaoRows = 50_000
)

// Picture is an image a source carries itself (a Taobao package's .tbi
// files) rather than by address: read it with Load when it is stored.
type Picture struct {
	Name string // the file's name in the package
	Size int64  // as unpacked
	file *zip.File
}

// Load reads the picture's bytes (at most MaxPictureBytes).
func (p Picture) Load() ([]byte, error) {
	if p.file == nil {
		return nil, errors.New("picture without a file")
	}
	if p.file.UncompressedSize64 > MaxPictureBytes {
		return nil, fmt.Errorf("picture %s is larger than %d MB", fault.Clip(p.Name, 60), MaxPictureBytes>>20)
	}
	rc, err := p.file.Open()
	if err != nil {
		return nil, fmt.Errorf("picture %s: %w", fault.Clip(p.Name, 60), err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxPictureBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("picture %s: %w", fault.Clip(p.Name, 60), err)
	case len(b) > MaxPictureBytes:
		return nil, fmt.Errorf("picture %s is larger than %d MB", fault.Clip(p.Name, 60), MaxPictureBytes>>20)
	}
	return b, nil
}

// TaobaoPackage is a Taobao Assistant data package opened for reading: a
// Source whose Key is "taobao" (items are known by their Taobao item id,
// whichever package carries them).
type TaobaoPackage struct {
	csvs     []*zip.File
	pictures map[string]*zip.File // by lower-case file name without extension
}

// OpenTaobao opens a data package. A package that is not a zip, or holds no
// CSV, is a 400 saying so.
func OpenTaobao(data []byte) (*TaobaoPackage, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are only looked up, never written
		return nil, fault.Invalid("package", "is not a zip file: upload the data package Taobao Assistant (淘宝助理) exported, zipped")
	}
	if len(zr.File) > maxTaobaoEntries {
		return nil, fault.Invalid("package", "holds more than %d files", maxTaobaoEntries)
	}
	p := &TaobaoPackage{pictures: map[string]*zip.File{}}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		name := path.Base(strings.ReplaceAll(f.Name, `\`, "/"))
		ext := strings.ToLower(path.Ext(name))
		switch ext {
		case ".csv":
			if strings.HasPrefix(name, "._") { // macOS resource forks
				continue
			}
			p.csvs = append(p.csvs, f)
		case ".tbi", ".jpg", ".jpeg", ".png", ".gif":
			key := strings.ToLower(strings.TrimSuffix(name, path.Ext(name)))
			if old, ok := p.pictures[key]; !ok || ext == ".tbi" && !strings.EqualFold(path.Ext(old.Name), ".tbi") {
				p.pictures[key] = f
			}
		}
	}
	switch {
	case len(p.csvs) == 0:
		return nil, fault.Invalid("package", "holds no .csv file: export the items with Taobao Assistant (淘宝助理) as a data package (CSV with its picture folder) and zip it")
	case len(p.csvs) > maxTaobaoCSVs:
		return nil, fault.Invalid("package", "holds more than %d .csv files", maxTaobaoCSVs)
	}
	slices.SortFunc(p.csvs, func(a, b *zip.File) int { return strings.Compare(a.Name, b.Name) })
	return p, nil
}

// Key names the source in id mappings.
func (p *TaobaoPackage) Key() string { return Taobao }

// Scan reads every item of every CSV in the package (after is ignored: a
// package has no pages). A CSV that is not in Taobao Assistant's format
// ends the scan with a 400 saying what is wrong.
func (p *TaobaoPackage) Scan(ctx context.Context, _ int, opt Options, v Visitor) error {
	opt.Prices = Prices{Default: "CNY"} // Taobao sells in yuan
	rows := 0
	for _, f := range p.csvs {
		prefix := ""
		if len(p.csvs) > 1 {
			prefix = fault.Clip(path.Base(f.Name), 60) + " "
		}
		if err := p.scanCSV(ctx, f, prefix, &rows, v); err != nil {
			return err
		}
	}
	return nil
}

// readCSV unpacks f (bounded) and decodes it to UTF-8.
func readCSV(f *zip.File) (string, error) {
	name := fault.Clip(path.Base(f.Name), 60)
	if f.UncompressedSize64 > maxTaobaoCSV {
		return "", fault.Invalid("package", "%s is larger than %d MB", name, maxTaobaoCSV>>20)
	}
	rc, err := f.Open()
	if err != nil {
		return "", fault.Invalid("package", "%s cannot be unpacked", name)
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, maxTaobaoCSV+1))
	switch {
	case err != nil:
		return "", fault.Invalid("package", "%s cannot be unpacked", name)
	case len(raw) > maxTaobaoCSV:
		return "", fault.Invalid("package", "%s is larger than %d MB", name, maxTaobaoCSV>>20)
	}
	text, ok := decodeText(raw)
	if !ok {
		return "", fault.Invalid("package", "%s is in an encoding that cannot be read (UTF-16, UTF-8 and GBK are)", name)
	}
	return text, nil
}

// decodeText turns a CSV's bytes into UTF-8: UTF-16 by its byte-order mark
// (or, without one, by the zero bytes of ASCII), UTF-8 when valid, else GBK
// (GB18030, its superset).
func decodeText(b []byte) (string, bool) {
	var dec transform.Transformer
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		dec = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		dec = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder()
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		b = b[3:]
	case len(b) >= 4 && b[0] != 0 && b[1] == 0 && b[2] != 0 && b[3] == 0:
		dec = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder()
	}
	if dec == nil {
		if utf8.Valid(b) {
			return string(b), true
		}
		dec = simplifiedchinese.GB18030.NewDecoder()
	}
	out, _, err := transform.Bytes(dec, b)
	if err != nil {
		return "", false
	}
	return strings.ToValidUTF8(string(out), "\uFFFD"), true
}

// taobaoColumns are the columns read, by their English names.
type taobaoColumns map[string]int

func (c taobaoColumns) get(rec []string, name string) string {
	i, ok := c[name]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// scanCSV reads one CSV of the package.
func (p *TaobaoPackage) scanCSV(ctx context.Context, f *zip.File, prefix string, rows *int, v Visitor) error {
	name := fault.Clip(path.Base(f.Name), 60)
	text, err := readCSV(f)
	if err != nil {
		return err
	}
	// The first line is the version; the separator is the header's.
	first, rest, _ := strings.Cut(text, "\n")
	skipped := 1 // lines before rest
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(strings.Trim(first, "\t,\r\""))), "version") {
		rest, skipped = text, 0 // no version line: the header comes first
	}
	headerLine, _, _ := strings.Cut(rest, "\n")
	r := csv.NewReader(strings.NewReader(rest))
	r.Comma = ','
	if strings.Count(headerLine, "\t") > strings.Count(headerLine, ",") {
		r.Comma = '\t'
	}
	r.LazyQuotes, r.FieldsPerRecord = true, -1
	head, err := r.Read()
	if err != nil {
		return fault.Invalid("package", "%s has no header line", name)
	}
	cols := taobaoColumns{}
	for i, h := range head {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		if _, dup := cols[h]; !dup {
			cols[h] = i
		}
	}
	for _, need := range []string{"title", "price", "num"} {
		if _, ok := cols[need]; !ok {
			return fault.Invalid("package", "%s is not a Taobao Assistant CSV: it has no %s column", name, need)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			return fault.Invalid("package", "%s cannot be read at line %d", name, line+skipped)
		}
		line, _ := r.FieldPos(0)
		ref := fmt.Sprintf("%sline %d", prefix, line+skipped)
		if blankRecord(rec) || cols.get(rec, "title") == "宝贝名称" { // the Chinese header
			continue
		}
		if *rows++; *rows > maxTaobaoRows {
			return fault.Invalid("package", "holds more than %d items", maxTaobaoRows)
		}
		it := p.item(cols, rec)
		it.Ref = ref
		if err := v.Item(it); err != nil {
			return err
		}
	}
}

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
