package sandbox

import (
	"encoding/xml"
	"errors"
	"net/http"
	"time"

	"github.com/silenceper/wechat/v2/officialaccount/message"
)

// The fans' side: what a fake fan does, as the push WeChat would send for
// it (plaintext XML; SignPush in package wechat signs and encrypts it).

// fan is a fake WeChat user as one account sees it.
type fan struct {
	openID         string
	subscribed     bool
	subscribedAt   time.Time
	scene          string
	lastMsgAt      time.Time
	lastEventAt    time.Time
	sentSinceMsg   int
	sentSinceEvent int
	massMonth      string
	massCount      int
	chat           []ChatLine
}

// ChatLine is one line of a fake fan's chat with the account.
type ChatLine struct {
	At   time.Time `json:"at"`
	From string    `json:"from"` // fan, shop, or system
	Text string    `json:"text"`
	// Event names what a system line says (followed, unfollowed, scanned,
	// scanned_followed), for the phone to say it in the page's language;
	// Scene is the scene of a scan. Text says it in English.
	Event string `json:"event,omitempty"`
	Scene string `json:"scene,omitempty"`
}

// fan returns the app's fan with openID, adding it on first use.
func (a *app) fan(openID string) *fan {
	f := a.fans[openID]
	if f == nil {
		f = &fan{openID: openID}
		a.fans[openID] = f
	}
	return f
}

// say adds a line to the fan's chat, keeping the last chatKeep.
func (f *fan) say(at time.Time, from, text string) {
	f.add(ChatLine{At: at, From: from, Text: text})
}

// system adds a system line about event (see ChatLine) to the fan's chat.
func (f *fan) system(at time.Time, event, scene, text string) {
	f.add(ChatLine{At: at, From: "system", Text: text, Event: event, Scene: scene})
}

func (f *fan) add(l ChatLine) {
	f.chat = append(f.chat, l)
	if len(f.chat) > chatKeep {
		f.chat = f.chat[len(f.chat)-chatKeep:]
	}
}

// pushXML is a push as WeChat sends it, before signing.
type pushXML struct {
	XMLName      xml.Name      `xml:"xml"`
	ToUserName   message.CDATA `xml:"ToUserName"`
	FromUserName message.CDATA `xml:"FromUserName"`
	CreateTime   int64         `xml:"CreateTime"`
	MsgType      message.CDATA `xml:"MsgType"`
	Event        message.CDATA `xml:"Event,omitempty"`
	EventKey     *message.CDATA
	Ticket       message.CDATA `xml:"Ticket,omitempty"`
	Content      message.CDATA `xml:"Content,omitempty"`
	MsgID        int64         `xml:"MsgId,omitempty"`
}

// createTime is the push's CreateTime, strictly increasing per fan (WeChat
// de-duplicates events by FromUserName+CreateTime; a person cannot follow
// twice in one second, a test can).
func (a *app) createTime(openID string, now time.Time) int64 {
	t := now.Unix()
	if last := a.lastCreate[openID]; t <= last {
		t = last + 1
	}
	a.lastCreate[openID] = t
	return t
}

// push is the XML WeChat sends for p from the fan openID: p with the
// account, the fan and the create time filled in.
func (a *app) push(openID string, now time.Time, p pushXML) []byte {
	p.ToUserName, p.FromUserName = message.CDATA(OriginalID(a.id)), message.CDATA(openID)
	p.CreateTime = a.createTime(openID, now)
	b, _ := xml.Marshal(p)
	return b
}

// event is the push of an event: key is its EventKey (the scene; empty for
// a follow from the profile), tk the QR ticket scanned.
func (a *app) event(openID, ev, key, tk string, now time.Time) []byte {
	p := pushXML{MsgType: "event", Event: message.CDATA(ev), Ticket: message.CDATA(tk)}
	if ev == "subscribe" || ev == "SCAN" || ev == "unsubscribe" {
		k := message.CDATA(key)
		p.EventKey = &k
	}
	return a.push(openID, now, p)
}

// fanAction runs fn on the app's fan with the simulator locked and returns
// the push fn builds (nil: WeChat sends nothing).
func (s *Simulator) fanAction(appID, openID string, fn func(a *app, f *fan, now time.Time) []byte) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a := s.appLocked(appID)
	return fn(a, a.fan(openID), now)
}

// Follow makes the fan follow the account from its profile (no scene), or
// does nothing new if it already follows (WeChat sends nothing then: nil).
func (s *Simulator) Follow(appID, openID string) []byte {
	return s.fanAction(appID, openID, func(a *app, f *fan, now time.Time) []byte {
		if f.subscribed {
			return nil
		}
		f.subscribed, f.subscribedAt, f.lastEventAt, f.sentSinceEvent = true, now, now, 0
		f.system(now, "followed", "", "You followed the account.")
		return a.event(openID, "subscribe", "", "", now)
	})
}

// Unfollow makes the fan unfollow (nil if it does not follow).
func (s *Simulator) Unfollow(appID, openID string) []byte {
	return s.fanAction(appID, openID, func(a *app, f *fan, now time.Time) []byte {
		if !f.subscribed {
			return nil
		}
		f.subscribed = false
		f.system(now, "unfollowed", "", "You unfollowed the account.")
		return a.event(openID, "unsubscribe", "", "", now)
	})
}

// ErrBadTicket is a scan of a code the account never issued, or an
// expired one.
var ErrBadTicket = errors.New("this QR code is unknown or has expired")

// Scan makes the fan scan the account's QR code with ticket: a fan who does
// not follow follows through it (subscribe, EventKey qrscene_<scene>), a
// follower sends SCAN with the bare scene.
func (s *Simulator) Scan(appID, openID, tk string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	t := s.tickets[tk]
	if t == nil || t.appID != appID || (!t.expires.IsZero() && !now.Before(t.expires)) {
		return nil, ErrBadTicket
	}
	a := s.appLocked(appID)
	f := a.fan(openID)
	f.lastEventAt, f.sentSinceEvent, f.scene = now, 0, t.scene
	if f.subscribed {
		f.system(now, "scanned", t.scene, "You scanned the QR code "+t.scene+".")
		return a.event(openID, "SCAN", t.scene, tk, now), nil
	}
	f.subscribed, f.subscribedAt = true, now
	f.system(now, "scanned_followed", t.scene, "You scanned the QR code "+t.scene+" and followed the account.")
	return a.event(openID, "subscribe", "qrscene_"+t.scene, tk, now), nil
}

// Text makes the fan write to the account, which opens the 48-hour window
// (nil if the fan does not follow: WeChat lets only followers write).
func (s *Simulator) Text(appID, openID, text string) []byte {
	return s.fanAction(appID, openID, func(a *app, f *fan, now time.Time) []byte {
		if !f.subscribed {
			return nil // only followers can write to an account
		}
		f.lastMsgAt, f.sentSinceMsg = now, 0
		f.say(now, "fan", text)
		s.msgID++
		return a.push(openID, now, pushXML{MsgType: "text", Content: message.CDATA(text), MsgID: s.msgID})
	})
}

// Received records a passive reply (the account's answer to a push) as
// delivered to the fan.
func (s *Simulator) Received(appID, openID, text string) {
	s.fanAction(appID, openID, func(a *app, f *fan, now time.Time) []byte {
		a.record(Sent{At: now, Kind: "passive", To: openID, Text: text})
		f.say(now, "shop", text)
		return nil
	})
}

// userInfo is /cgi-bin/user/info.
func (s *Simulator) userInfo(a *app, r *http.Request, _ []byte) any {
	f := a.fans[r.URL.Query().Get("openid")]
	if f == nil {
		return apiErr(40003, "invalid openid")
	}
	out := map[string]any{"subscribe": 0, "openid": f.openID, "language": "zh_CN"}
	if f.subscribed {
		out["subscribe"] = 1
		out["subscribe_time"] = f.subscribedAt.Unix()
		out["subscribe_scene"] = "ADD_SCENE_QR_CODE"
		out["qr_scene_str"] = f.scene
	}
	return out
}

// FanState is a fake fan as the phone shows it.
type FanState struct {
	OpenID     string
	Subscribed bool
	Scene      string
	Chat       []ChatLine
}

// Fan returns the fake fan's state.
func (s *Simulator) Fan(appID, openID string) FanState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := FanState{OpenID: openID}
	if a := s.apps[appID]; a != nil {
		if f := a.fans[openID]; f != nil {
			st.Subscribed, st.Scene, st.Chat = f.subscribed, f.scene, append([]ChatLine(nil), f.chat...)
		}
	}
	return st
}
