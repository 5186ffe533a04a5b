package paysim

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"html/template"
	"net/http"
	"net/url"
)

// H5 pay: the prepay of a browser outside WeChat
// (/v3/pay/transactions/h5) opens an order in the same ledger as JSAPI's,
// trade type MWEB, and answers an h5_url at the simulator's cashier page
// (WeChat's checkmweb). Paying it there, or with Pay, settles it and
// notifies exactly as a JSAPI order.

// CashierPath is the path of the cashier page an h5_url names (served
// without a merchant's signature: the buyer's browser opens it).
const CashierPath = "/cgi-bin/mmpayweb-bin/checkmweb"

// cashierHost is the host h5_urls name, as WeChat Pay's do.
const cashierHost = "https://wx.tenpay.com"

// h5Request is the H5 prepay body: JSAPI's without a payer, with the
// scene.
type h5Request struct {
	prepayRequest
	SceneInfo struct {
		PayerClientIP string `json:"payer_client_ip"`
		H5Info        struct {
			Type string `json:"type"`
		} `json:"h5_info"`
	} `json:"scene_info"`
}

func (s *Simulator) prepayH5(w http.ResponseWriter, m *merchant, body []byte) {
	var in h5Request
	if err := json.Unmarshal(body, &in); err != nil {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "body is not JSON"))
		return
	}
	switch in.SceneInfo.H5Info.Type {
	case "iOS", "Android", "Wap":
	default:
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "scene_info.h5_info.type must be iOS, Android or Wap"))
		return
	}
	if in.SceneInfo.PayerClientIP == "" {
		s.answer(w, http.StatusBadRequest, apiError("PARAM_ERROR", "scene_info.payer_client_ip is required"))
		return
	}
	if id, ok := s.open(w, m, in.prepayRequest, "MWEB"); ok {
		s.answer(w, http.StatusOK, map[string]string{"h5_url": h5URL(id)})
	}
}

// h5URL is the cashier page of prepay id (the same for the same prepay).
func h5URL(prepayID string) string {
	return fmt.Sprintf("%s%s?prepay_id=%s&package=%d", cashierHost, CashierPath, url.QueryEscape(prepayID),
		crc32.ChecksumIEEE([]byte(prepayID)))
}

// byPrepayID finds the order of prepay id: its merchant, out_trade_no and
// a copy.
func (s *Simulator) byPrepayID(id string) (mchID string, t Transaction, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.merchants {
		for _, o := range m.orders {
			if o.PrepayID == id {
				return m.MchID, *o, true
			}
		}
	}
	return "", Transaction{}, false
}

var cashierPage = template.Must(template.New("cashier").Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>微信支付（模拟）</title></head><body>
<h1>微信支付（模拟）</h1>
<p>{{.T.Description}}</p>
<p>¥{{.Yuan}}</p>
{{if eq .T.TradeState "NOTPAY"}}<form method="post"><button>确认支付</button></form>
{{else}}<p>{{.T.StateDesc}}</p>{{if .Back}}<p><a href="{{.Back}}">返回商家</a></p>{{end}}{{end}}
</body></html>`))

// cashier is the cashier page: GET shows the order, POST is the buyer
// paying it (as Pay), then going back to redirect_url.
func (s *Simulator) cashier(w http.ResponseWriter, r *http.Request) {
	mchID, t, ok := s.byPrepayID(r.URL.Query().Get("prepay_id"))
	if !ok {
		http.Error(w, "订单不存在", http.StatusNotFound)
		return
	}
	back := ""
	if u, err := url.Parse(r.URL.Query().Get("redirect_url")); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		back = u.String()
	}
	if r.Method == http.MethodPost {
		paid, err := s.Pay(r.Context(), mchID, t.OutTradeNo)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		if back != "" {
			http.Redirect(w, r, back, http.StatusSeeOther)
			return
		}
		t = paid
	} else if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = cashierPage.Execute(w, map[string]any{"T": t, "Back": back,
		"Yuan": fmt.Sprintf("%d.%02d", t.Amount.Total/100, t.Amount.Total%100)})
}
