package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Customer-service and broadcast messages, with the windows and quotas
// WeChat enforces on them.

// window says whether the account may send f a customer-service message
// now: 43004 if the fan does not follow, 45015 outside both windows, 45047
// when the open windows' counts are used up.
func (f *fan) window(now time.Time) int {
	if !f.subscribed {
		return 43004
	}
	msgOpen := !f.lastMsgAt.IsZero() && now.Sub(f.lastMsgAt) < MessageWindow
	eventOpen := !f.lastEventAt.IsZero() && now.Sub(f.lastEventAt) < EventWindow
	switch {
	case !msgOpen && !eventOpen:
		return 45015
	case (msgOpen && f.sentSinceMsg < MessageReplies) || (eventOpen && f.sentSinceEvent < EventReplies):
		return 0
	}
	return 45047
}

// customSend is /cgi-bin/message/custom/send.
func (s *Simulator) customSend(a *app, _ *http.Request, body []byte) any {
	var req struct {
		ToUser  string `json:"touser"`
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content string `json:"content"`
		} `json:"text"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(47001, "data format error")
	}
	now := s.now()
	m := Sent{At: now, Kind: "custom", To: req.ToUser}
	res := checkCustom(a, req.ToUser, req.MsgType, req.Text != nil, now)
	if req.Text != nil {
		m.Text = req.Text.Content
		if res.ErrCode == 0 && (req.Text.Content == "" || len(req.Text.Content) > 2048) {
			res = apiErr(45002, "content size out of limit")
		}
	}
	m.ErrCode, m.ErrMsg = res.ErrCode, res.ErrMsg
	a.record(m)
	if res.ErrCode == 0 {
		f := a.fans[req.ToUser]
		f.sentSinceMsg++
		f.sentSinceEvent++
		f.say(now, "shop", m.Text)
	}
	return res
}

// checkCustom is WeChat's answer to a customer-service message to to.
func checkCustom(a *app, to string, msgType string, hasText bool, now time.Time) errBody {
	f := a.fans[to]
	switch {
	case f == nil:
		return apiErr(40003, "invalid openid")
	case msgType != "text" || !hasText:
		return apiErr(40008, "invalid message type (the sandbox sends text)")
	}
	switch f.window(now) {
	case 43004:
		return apiErr(43004, "require subscribe")
	case 45015:
		return apiErr(45015, "response out of time limit or subscription is canceled")
	case 45047:
		return apiErr(45047, "out of response count limit")
	}
	return ok
}

// massSend is /cgi-bin/message/mass/send and .../sendall: a text
// broadcast, within the per-minute and per-fan monthly quotas.
func (s *Simulator) massSend(a *app, r *http.Request, body []byte) any {
	var req struct {
		ToUser []string `json:"touser"`
		Filter *struct {
			IsToAll bool `json:"is_to_all"`
		} `json:"filter"`
		MsgType string `json:"msgtype"`
		Text    *struct {
			Content string `json:"content"`
		} `json:"text"`
		ClientMsgID string `json:"clientmsgid"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(47001, "data format error")
	}
	now := s.now()
	recent := a.massRequests[:0]
	for _, t := range a.massRequests {
		if now.Sub(t) < time.Minute {
			recent = append(recent, t)
		}
	}
	a.massRequests = recent
	if len(recent) >= MassPerMinute {
		return apiErr(45009, "api freq out of limit")
	}
	a.massRequests = append(a.massRequests, now)
	if req.ClientMsgID != "" {
		if id, dup := a.massClientIDs[req.ClientMsgID]; dup {
			return map[string]any{"errcode": 45065, "errmsg": "clientmsgid exist", "msg_id": id}
		}
	}
	if req.MsgType != "text" || req.Text == nil || req.Text.Content == "" {
		return apiErr(40008, "invalid message type (the sandbox broadcasts text)")
	}
	var to []string
	if strings.HasSuffix(r.URL.Path, "/sendall") {
		if req.Filter == nil || !req.Filter.IsToAll {
			return apiErr(40050, "invalid filter (the sandbox sends to all: is_to_all)")
		}
		for id := range a.fans {
			to = append(to, id)
		}
		sort.Strings(to)
	} else {
		if len(req.ToUser) < 2 || len(req.ToUser) > 10000 {
			return apiErr(40130, "invalid openid list size, at least two openid")
		}
		to = req.ToUser
	}
	month := now.In(china).Format("2006-01")
	sent := 0
	for _, id := range to {
		f := a.fans[id]
		if f == nil || !f.subscribed {
			continue
		}
		if f.massMonth != month {
			f.massMonth, f.massCount = month, 0
		}
		if f.massCount >= MassPerFanMonth {
			continue // over the monthly quota: WeChat filters the fan out
		}
		f.massCount++
		sent++
		a.record(Sent{At: now, Kind: "mass", To: id, Text: req.Text.Content})
		f.say(now, "shop", "[broadcast] "+req.Text.Content)
	}
	if sent == 0 {
		a.record(Sent{At: now, Kind: "mass", To: fmt.Sprintf("%d fans", len(to)), Text: req.Text.Content, ErrCode: 45028, ErrMsg: "has no masssend quota"})
		return apiErr(45028, "has no masssend quota")
	}
	s.msgID++
	if req.ClientMsgID != "" {
		a.massClientIDs[req.ClientMsgID] = s.msgID
	}
	return map[string]any{"errcode": 0, "errmsg": "send job submission success", "msg_id": s.msgID, "msg_data_id": s.msgID}
}
