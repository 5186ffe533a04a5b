package feedgen

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"unicode/utf16"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// TaobaoColumns are the English column names of Taobao Assistant 5's CSV,
// in its order; TaobaoChinese are the Chinese ones of its third line.
var (
	TaobaoColumns = strings.Split("title,cid,seller_cids,stuff_status,location_state,location_city,item_type,price,auction_increment,num,"+
		"valid_thru,freight_payer,post_fee,ems_fee,express_fee,has_invoice,has_warranty,approve_status,has_showcase,list_time,"+
		"description,cateProps,postage_id,has_discount,modified,upload_fail_msg,picture_status,auction_point,picture,video,"+
		"skuProps,inputPids,inputValues,outer_id,propAlias,auto_fill,num_id,local_cid,navigation_type,user_name,syncStatus,"+
		"is_lighting_consigment,is_xinpin,foodparame,features,buyareatype,global_stock_type,global_stock_country,sub_stock_type,"+
		"item_size,item_weight,sell_promise,custom_design_flag,wireless_desc,barcode,sku_barcode,newprepay,subtitle,cpv_memo,"+
		"input_custom_cpv,qualification,add_qualification,o2o_bind_service", ",")
	TaobaoChinese = strings.Split("宝贝名称,宝贝类目,店铺类目,新旧程度,省,城市,出售方式,宝贝价格,加价幅度,宝贝数量,有效期,运费承担,平邮,EMS,快递,"+
		"发票,保修,放入仓库,橱窗推荐,开始时间,宝贝描述,宝贝属性,邮费模版ID,会员打折,修改时间,上传状态,图片状态,返点比例,新图片,视频,"+
		"销售属性组合,用户输入ID串,用户输入名-值对,商家编码,销售属性别名,代充类型,数字ID,本地ID,宝贝分类,用户名称,宝贝状态,闪电发货,"+
		"新品,食品专项,尺码库,采购地,库存类型,国家地区,库存计数,物流体积,物流重量,退换货承诺,定制工具,无线详情,商品条形码,"+
		"sku 条形码,7天退货,宝贝卖点,属性值备注,自定义属性值,商品资质,增加商品资质,关联线下服务", ",")
)

// TaobaoItem is one row of a Taobao Assistant CSV: the columns by English
// name (those not given are written empty, or as Taobao Assistant fills
// them), and the picture files the row's picture column names.
type TaobaoItem struct {
	Columns map[string]string
	// Files are written into the package's picture folder as
	// <name>.tbi.
	Files map[string][]byte
}

// TaobaoEncoding is how the CSV is written.
type TaobaoEncoding int

// The encodings Taobao Assistant has written.
const (
	UTF16Tab TaobaoEncoding = iota // newer versions: UTF-16LE with BOM, tabs
	GBKComma                       // older versions: GBK, commas
)

// TaobaoPackage writes a data package: name.csv and the name/ picture
// folder, zipped.
func TaobaoPackage(name string, enc TaobaoEncoding, items []TaobaoItem) []byte {
	var text bytes.Buffer
	w := csv.NewWriter(&text)
	if enc == UTF16Tab {
		w.Comma = '\t'
	}
	w.UseCRLF = true
	_ = w.Write([]string{"version 1.00"})
	_ = w.Write(TaobaoColumns)
	_ = w.Write(TaobaoChinese)
	defaults := map[string]string{"cid": "50008163", "stuff_status": "1", "location_state": "浙江", "location_city": "杭州",
		"item_type": "1", "auction_increment": "0", "valid_thru": "7", "freight_payer": "2", "approve_status": "0", "upload_fail_msg": "200"}
	for _, it := range items {
		row := make([]string, len(TaobaoColumns))
		for i, c := range TaobaoColumns {
			if v, ok := it.Columns[c]; ok {
				row[i] = v
			} else {
				row[i] = defaults[c]
			}
		}
		_ = w.Write(row)
	}
	w.Flush()
	var data []byte
	switch enc {
	case UTF16Tab:
		u := utf16.Encode([]rune(text.String()))
		data = make([]byte, 2, 2+2*len(u))
		data[0], data[1] = 0xFF, 0xFE
		for _, c := range u {
			data = append(data, byte(c), byte(c>>8))
		}
	case GBKComma:
		data, _ = simplifiedchinese.GBK.NewEncoder().Bytes(text.Bytes())
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	f, _ := zw.Create(name + ".csv")
	_, _ = f.Write(data)
	for _, it := range items {
		for n, b := range it.Files {
			f, _ := zw.Create(name + "/" + n + ".tbi")
			_, _ = f.Write(b)
		}
	}
	_ = zw.Close()
	return out.Bytes()
}

// JPEG is a small real JPEG of one colour (w×h pixels).
func JPEG(w, h int, c color.RGBA) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	return b.Bytes()
}

// Colours of the sample's pictures.
var (
	Red   = color.RGBA{R: 220, G: 30, B: 30, A: 255}
	Blue  = color.RGBA{R: 30, G: 60, B: 220, A: 255}
	Green = color.RGBA{R: 30, G: 180, B: 60, A: 255}
)

// TaobaoSample is a package of three items, for tests:
//
//   - 纯棉短袖T恤 (num_id 600123456789, code TX-001): four SKUs, colour
//     (红色 and 蓝色, values the seller made up, named in input_custom_cpv)
//     × size (M and XL, Taobao's standard values renamed in propAlias), at
//     ¥59.00 (红色) and ¥69.50 (蓝色), stock 10, 0, 5, 7, codes TX-R-M…;
//     two pictures (red, then blue) and a property picture (green).
//   - 西湖龙井 明前特级 250g (num_id 600987654321, code LJ-250): ¥268.00,
//     stock 30, no SKUs, one picture (green); an HTML description.
//   - a row without a title (line 6): a problem.
//
// round 1 changes what a re-export would: the T-shirt's 蓝色/XL price to
// ¥72.00 and its stock to 3, the tea's stock to 25 and its title.
func TaobaoSample(enc TaobaoEncoding, round int) []byte {
	red, blue, green := JPEG(8, 8, Red), JPEG(8, 8, Blue), JPEG(8, 8, Green)
	bluePrice, blueStock, teaStock, teaTitle := "69.50", "7", "25", "西湖龙井 明前特级 250g"
	if round == 0 {
		teaStock = "30"
	} else {
		bluePrice, blueStock, teaTitle = "72.00", "3", "西湖龙井 明前特级 250g 礼盒"
	}
	items := []TaobaoItem{{
		Columns: map[string]string{
			"title": "纯棉短袖T恤", "price": "59.00", "num": "22", "outer_id": "TX-001", "num_id": "600123456789",
			"description": `<p>100%纯棉，<b>透气</b>舒适</p><p>洗涤：30℃以下</p><script>alert(1)</script>`,
			"cateProps":   "1627207:-1001;1627207:-1002;20509:28315;20509:28317;",
			"skuProps": "59.00:10:TX-R-M:1627207:-1001;20509:28315;59.00:0:TX-R-XL:1627207:-1001;20509:28317;" +
				"69.50:5:TX-B-M:1627207:-1002;20509:28315;" + bluePrice + ":" + blueStock + ":TX-B-XL:1627207:-1002;20509:28317;",
			"propAlias":        "20509:28315:M;20509:28317:XL;",
			"input_custom_cpv": "1627207:-1001:红色;1627207:-1002:蓝色;",
			"picture":          "a1b2c3d4e5f60001:1:0:|;a1b2c3d4e5f60002:1:1:|;a1b2c3d4e5f60003:2:0:1627207:-1001|;",
			"picture_status":   "1;1;2;",
		},
		Files: map[string][]byte{"a1b2c3d4e5f60001": red, "a1b2c3d4e5f60002": blue, "a1b2c3d4e5f60003": green},
	}, {
		Columns: map[string]string{
			"title": teaTitle, "price": "268.00", "num": teaStock, "outer_id": "LJ-250", "num_id": "600987654321",
			"description": "<div><h3>产地</h3><p>杭州西湖</p><ul><li>明前采摘</li><li>特级</li></ul></div>",
			"picture":     "a1b2c3d4e5f60003:1:0:|;",
		},
		Files: map[string][]byte{"a1b2c3d4e5f60003": green},
	}, {
		Columns: map[string]string{"title": "", "price": "10.00", "num": "1", "num_id": "600000000003"},
	}}
	return TaobaoPackage("宝贝导出", enc, items)
}
