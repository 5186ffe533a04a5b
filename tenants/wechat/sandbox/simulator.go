// Package sandbox is an in-process WeChat: the official-account API the SDK
// calls (tokens, QR tickets, customer-service, template and broadcast
// messages, web OAuth), the fans' side (a fake fan scans a QR code,
// follows, unfollows, writes), and the console's "sandbox phone" that
// drives the fans' side and delivers each action as a correctly signed
// push to the shop's real /wx/{slug} endpoint.
//
// The server points the SDK at it with util.SetURIModifier(sim.Rewrite)
// when it runs with --wechat=sandbox (the default, and always in tests), so
// the code path is the one production runs against api.weixin.qq.com. It
// speaks WeChat's formats and enforces the rules that matter to a shop:
// a token fetch invalidates the previous token (after a 5-minute overlap),
// customer-service messages only within 48 hours of the fan's last message
// (5 of them) or a minute after a follow or scan (3), template fields,
// broadcast quotas (4 a month per fan, 60 requests a minute, clientmsgid
// de-duplication), the permanent-QR cap. Every message sent is kept in a
// per-account outbox the console shows.
//
// Its state is in memory, per process: a sandbox is for one server (and its
// tests), not for a fleet of replicas.
package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/silenceper/wechat/v2/officialaccount/message"
	qrcode "github.com/skip2/go-qrcode"
)

// WeChat's numbers the simulator enforces.
const (
	TokenLife          = 7200 * time.Second
	TokenOverlap       = 5 * time.Minute
	TokenFetchesPerDay = 2000
	MessageWindow      = 48 * time.Hour
	MessageReplies     = 5
	EventWindow        = time.Minute
	EventReplies       = 3
	MaxPermanentQR     = 100_000
	MaxTempQRSeconds   = 30 * 24 * 3600
	MassPerFanMonth    = 4
	MassPerMinute      = 60
	TemplatesPerDay    = 100_000
	outboxKeep         = 500
	chatKeep           = 200
)

// Options tune the simulator (tests move its clock).
type Options struct {
	Now func() time.Time
	Log *slog.Logger
}

// Simulator is the in-process WeChat.
type Simulator struct {
	now func() time.Time
	log *slog.Logger
	key []byte // derives openids from (app, device)

	mu      sync.Mutex
	apps    map[string]*app
	tokens  map[string]string // access token -> app id
	tickets map[string]*ticket
	codes   map[string]*oauthCode
	msgID   int64

	ln   net.Listener
	srv  *http.Server
	base string
}

type app struct {
	id, secret       string
	token, prevToken string
	tokenExpires     time.Time
	prevUntil        time.Time
	fetchDay         string
	fetches          int
	fans             map[string]*fan
	outbox           []Sent
	permanentQR      int
	templateDay      string
	templatesSent    int
	massRequests     []time.Time
	massClientIDs    map[string]int64
	lastCreate       map[string]int64
}

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

type ticket struct {
	appID, scene string
	permanent    bool
	expires      time.Time // zero: permanent
}

type oauthCode struct {
	appID, openID string
	expires       time.Time
}

// Sent is one message the account sent (or tried to send), as the sandbox
// outbox shows it.
type Sent struct {
	At       time.Time         `json:"at"`
	Kind     string            `json:"kind"` // custom, template, mass, passive
	To       string            `json:"to"`
	Text     string            `json:"text,omitempty"`
	Template string            `json:"template,omitempty"`
	Data     map[string]string `json:"data,omitempty"`
	ErrCode  int               `json:"errcode"`
	ErrMsg   string            `json:"errmsg,omitempty"`
}

// Delivered reports whether WeChat accepted the message.
func (s Sent) Delivered() bool { return s.ErrCode == 0 }

// ChatLine is one line of a fake fan's chat with the account.
type ChatLine struct {
	At   time.Time `json:"at"`
	From string    `json:"from"` // fan, shop, or system
	Text string    `json:"text"`
}

// New returns a simulator; Start serves its API.
func New(opts Options) *Simulator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &Simulator{now: opts.Now, log: opts.Log, key: key, apps: map[string]*app{}, tokens: map[string]string{},
		tickets: map[string]*ticket{}, codes: map[string]*oauthCode{}, msgID: time.Now().UnixNano() / 1000}
}

// Start serves the API on a loopback port until Close.
func (s *Simulator) Start() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("sandbox wechat: %w", err)
	}
	s.ln, s.base = ln, "http://"+ln.Addr().String()
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("sandbox wechat stopped", "err", err)
		}
	}()
	return nil
}

// Close stops the API server.
func (s *Simulator) Close() error {
	if s.srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// BaseURL is where the API listens (after Start).
func (s *Simulator) BaseURL() string { return s.base }

// wechatHosts are the hosts Rewrite sends to the simulator.
var wechatHosts = map[string]bool{"api.weixin.qq.com": true, "mp.weixin.qq.com": true, "open.weixin.qq.com": true,
	"api.wechat.com": true, "sh.api.weixin.qq.com": true}

// Rewrite is the SDK's URI modifier: WeChat's addresses go to the
// simulator, anything else is left alone.
func (s *Simulator) Rewrite(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || !wechatHosts[u.Host] || s.base == "" {
		return uri
	}
	b, _ := url.Parse(s.base)
	u.Scheme, u.Host = b.Scheme, b.Host
	return u.String()
}

// OriginalID is the account's 原始ID (gh_...), the ToUserName of pushes.
func OriginalID(appID string) string {
	h := sha256.Sum256([]byte(appID))
	return "gh_" + hex.EncodeToString(h[:6])
}

// OpenID is the openid of the fake WeChat user on device for the app:
// stable, per account, shaped like WeChat's (28 characters from "o").
func (s *Simulator) OpenID(appID, device string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(appID + "|" + device))
	return "o" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:27]
}

func (s *Simulator) appLocked(appID string) *app {
	a := s.apps[appID]
	if a == nil {
		a = &app{id: appID, fans: map[string]*fan{}, massClientIDs: map[string]int64{}, lastCreate: map[string]int64{}}
		s.apps[appID] = a
	}
	return a
}

func (a *app) fan(openID string) *fan {
	f := a.fans[openID]
	if f == nil {
		f = &fan{openID: openID}
		a.fans[openID] = f
	}
	return f
}

func (f *fan) say(at time.Time, from, text string) {
	f.chat = append(f.chat, ChatLine{At: at, From: from, Text: text})
	if len(f.chat) > chatKeep {
		f.chat = f.chat[len(f.chat)-chatKeep:]
	}
}

func (a *app) record(m Sent) {
	a.outbox = append(a.outbox, m)
	if len(a.outbox) > outboxKeep {
		a.outbox = a.outbox[len(a.outbox)-outboxKeep:]
	}
}

// ServeHTTP is WeChat's API.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	switch r.URL.Path {
	case "/cgi-bin/token":
		s.token(w, r)
	case "/cgi-bin/qrcode/create":
		s.withApp(w, r, s.qrCreate)
	case "/cgi-bin/showqrcode":
		s.showQR(w, r)
	case "/cgi-bin/message/custom/send":
		s.withApp(w, r, s.customSend)
	case "/cgi-bin/message/template/send":
		s.withApp(w, r, s.templateSend)
	case "/cgi-bin/template/get_all_private_template":
		s.withApp(w, r, s.templateList)
	case "/cgi-bin/message/mass/send", "/cgi-bin/message/mass/sendall":
		s.withApp(w, r, s.massSend)
	case "/cgi-bin/user/info":
		s.withApp(w, r, s.userInfo)
	case "/sns/oauth2/access_token":
		s.oauthToken(w, r)
	default:
		writeJSON(w, apiErr(48001, "api unauthorized (the sandbox does not simulate "+r.URL.Path+")"))
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}

type errBody struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func apiErr(code int, msg string) errBody { return errBody{ErrCode: code, ErrMsg: msg} }

var ok = errBody{ErrCode: 0, ErrMsg: "ok"}

var appIDPattern = regexp.MustCompile(`^wx[0-9A-Za-z]{16}$`)

func (s *Simulator) token(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("grant_type") != "client_credential" {
		writeJSON(w, apiErr(40002, "invalid grant_type"))
		return
	}
	appID, secret := q.Get("appid"), q.Get("secret")
	if !appIDPattern.MatchString(appID) {
		writeJSON(w, apiErr(40013, "invalid appid"))
		return
	}
	if len(secret) != 32 {
		writeJSON(w, apiErr(40125, "invalid appsecret"))
		return
	}
	tok, life, errb := s.issueToken(appID, secret)
	if errb.ErrCode != 0 {
		writeJSON(w, errb)
		return
	}
	writeJSON(w, map[string]any{"access_token": tok, "expires_in": int(life / time.Second)})
}

// issueToken issues a new token for the app: the previous one stays valid
// for TokenOverlap, any older one is invalid from now on.
func (s *Simulator) issueToken(appID, secret string) (string, time.Duration, errBody) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a := s.appLocked(appID)
	if a.secret == "" {
		a.secret = secret // the sandbox learns an app's secret on first use
	} else if !hmac.Equal([]byte(a.secret), []byte(secret)) {
		return "", 0, apiErr(40125, "invalid appsecret")
	}
	day := now.Format("2006-01-02")
	if a.fetchDay != day {
		a.fetchDay, a.fetches = day, 0
	}
	if a.fetches >= TokenFetchesPerDay {
		return "", 0, apiErr(45009, "reach max api daily quota limit")
	}
	a.fetches++
	if a.prevToken != "" {
		delete(s.tokens, a.prevToken)
	}
	a.prevToken, a.prevUntil = a.token, now.Add(TokenOverlap)
	if a.tokenExpires.Before(a.prevUntil) {
		a.prevUntil = a.tokenExpires
	}
	a.token, a.tokenExpires = randomToken(), now.Add(TokenLife)
	s.tokens[a.token] = appID
	return a.token, TokenLife, ok
}

// TokenFetches counts the tokens issued to the app today.
func (s *Simulator) TokenFetches(appID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[appID]; a != nil {
		return a.fetches
	}
	return 0
}

func randomToken() string {
	b := make([]byte, 96)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// withApp resolves access_token to its app, as WeChat checks it, and runs
// fn with the simulator locked.
func (s *Simulator) withApp(w http.ResponseWriter, r *http.Request, fn func(a *app, r *http.Request, body []byte) any) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeJSON(w, apiErr(44002, "empty post data or too large"))
		return
	}
	tok := r.URL.Query().Get("access_token")
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok == "" {
		writeJSON(w, apiErr(41001, "access_token missing"))
		return
	}
	appID, known := s.tokens[tok]
	if !known {
		writeJSON(w, apiErr(40001, "invalid credential, access_token is invalid or not latest"))
		return
	}
	a := s.apps[appID]
	now := s.now()
	switch {
	case tok == a.token && !now.Before(a.tokenExpires):
		writeJSON(w, apiErr(42001, "access_token expired"))
		return
	case tok == a.prevToken && !now.Before(a.prevUntil):
		writeJSON(w, apiErr(40001, "invalid credential, access_token is invalid or not latest"))
		return
	case tok != a.token && tok != a.prevToken:
		writeJSON(w, apiErr(40001, "invalid credential, access_token is invalid or not latest"))
		return
	}
	writeJSON(w, fn(a, r, body))
}

func (s *Simulator) qrCreate(a *app, _ *http.Request, body []byte) any {
	var req struct {
		ExpireSeconds int64  `json:"expire_seconds"`
		ActionName    string `json:"action_name"`
		ActionInfo    struct {
			Scene struct {
				SceneStr string `json:"scene_str"`
				SceneID  int64  `json:"scene_id"`
			} `json:"scene"`
		} `json:"action_info"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(47001, "data format error")
	}
	scene := req.ActionInfo.Scene.SceneStr
	permanent := false
	switch req.ActionName {
	case "QR_SCENE", "QR_LIMIT_SCENE":
		if req.ActionInfo.Scene.SceneID <= 0 || (req.ActionName == "QR_LIMIT_SCENE" && req.ActionInfo.Scene.SceneID > 100000) {
			return apiErr(40053, "invalid action info")
		}
		scene = strconv.FormatInt(req.ActionInfo.Scene.SceneID, 10)
		permanent = req.ActionName == "QR_LIMIT_SCENE"
	case "QR_STR_SCENE", "QR_LIMIT_STR_SCENE":
		if scene == "" || utf8.RuneCountInString(scene) > 64 {
			return apiErr(40053, "invalid action info: scene_str must be 1 to 64 characters")
		}
		permanent = req.ActionName == "QR_LIMIT_STR_SCENE"
	default:
		return apiErr(40054, "invalid action name")
	}
	now := s.now()
	t := &ticket{appID: a.id, scene: scene, permanent: permanent}
	expire := int64(0)
	if permanent {
		if a.permanentQR >= MaxPermanentQR {
			return apiErr(45009, "reach max permanent qrcode limit")
		}
		a.permanentQR++
	} else {
		expire = req.ExpireSeconds
		if expire <= 0 {
			expire = 60 // WeChat's default when expire_seconds is left out
		}
		if expire > MaxTempQRSeconds {
			expire = MaxTempQRSeconds
		}
		t.expires = now.Add(time.Duration(expire) * time.Second)
	}
	tk := "sandbox" + randomToken()[:40]
	s.tickets[tk] = t
	out := map[string]any{"ticket": tk, "url": "http://weixin.qq.com/q/" + tk}
	if !permanent {
		out["expire_seconds"] = expire
	}
	return out
}

func (s *Simulator) showQR(w http.ResponseWriter, r *http.Request) {
	tk := r.URL.Query().Get("ticket")
	s.mu.Lock()
	t := s.tickets[tk]
	s.mu.Unlock()
	if t == nil || (!t.expires.IsZero() && !s.now().Before(t.expires)) {
		http.Error(w, "invalid ticket", http.StatusNotFound)
		return
	}
	png, err := qrcode.Encode("http://weixin.qq.com/q/"+tk, qrcode.Medium, 430)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg") // WeChat says jpeg; the bytes are a PNG, which browsers accept
	_, _ = w.Write(png)
}

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

// Template is a sandbox template message: its id, title and the fields
// its content asks for.
type Template struct {
	ID      string
	Title   string
	Content string
}

// Fields lists the data keys the template's content uses.
func (t Template) Fields() []string {
	var out []string
	for _, m := range templateField.FindAllStringSubmatch(t.Content, -1) {
		out = append(out, m[1])
	}
	return out
}

var templateField = regexp.MustCompile(`\{\{(\w+)\.DATA\}\}`)

// Templates are every sandbox account's template messages.
var Templates = []Template{
	{ID: "sandbox_order_paid", Title: "订单支付成功 Order paid",
		Content: "{{first.DATA}}\n订单号 Order：{{keyword1.DATA}}\n金额 Amount：{{keyword2.DATA}}\n时间 Time：{{keyword3.DATA}}\n{{remark.DATA}}"},
	{ID: "sandbox_order_shipped", Title: "订单发货 Order shipped",
		Content: "{{first.DATA}}\n订单号 Order：{{keyword1.DATA}}\n快递 Carrier：{{keyword2.DATA}}\n单号 Tracking：{{keyword3.DATA}}\n{{remark.DATA}}"},
	{ID: "sandbox_points_changed", Title: "积分变动 Points changed",
		Content: "{{first.DATA}}\n变动 Change：{{keyword1.DATA}}\n余额 Balance：{{keyword2.DATA}}\n{{remark.DATA}}"},
	{ID: "sandbox_commission", Title: "佣金到账 Commission",
		Content: "{{first.DATA}}\n金额 Amount：{{keyword1.DATA}}\n订单 Order：{{keyword2.DATA}}\n{{remark.DATA}}"},
}

func templateByID(id string) (Template, bool) {
	for _, t := range Templates {
		if t.ID == id {
			return t, true
		}
	}
	return Template{}, false
}

func (s *Simulator) templateList(_ *app, _ *http.Request, _ []byte) any {
	type item struct {
		TemplateID      string `json:"template_id"`
		Title           string `json:"title"`
		PrimaryIndustry string `json:"primary_industry"`
		DeputyIndustry  string `json:"deputy_industry"`
		Content         string `json:"content"`
		Example         string `json:"example"`
	}
	list := make([]item, len(Templates))
	for i, t := range Templates {
		list[i] = item{TemplateID: t.ID, Title: t.Title, PrimaryIndustry: "IT科技", DeputyIndustry: "互联网|电子商务", Content: t.Content}
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "template_list": list}
}

func (s *Simulator) templateSend(a *app, _ *http.Request, body []byte) any {
	var req struct {
		ToUser     string `json:"touser"`
		TemplateID string `json:"template_id"`
		Data       map[string]*struct {
			Value string `json:"value"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return apiErr(47001, "data format error")
	}
	now := s.now()
	m := Sent{At: now, Kind: "template", To: req.ToUser, Template: req.TemplateID, Data: map[string]string{}}
	for k, v := range req.Data {
		if v != nil {
			m.Data[k] = v.Value
		}
	}
	res := s.checkTemplate(a, req.ToUser, req.TemplateID, m.Data, now)
	m.ErrCode, m.ErrMsg = res.ErrCode, res.ErrMsg
	a.record(m)
	if res.ErrCode != 0 {
		return res
	}
	a.templatesSent++
	s.msgID++
	if f := a.fans[req.ToUser]; f != nil {
		f.say(now, "shop", "[template "+req.TemplateID+"] "+m.Data["first"])
	}
	return map[string]any{"errcode": 0, "errmsg": "ok", "msgid": s.msgID}
}

func (s *Simulator) checkTemplate(a *app, to, id string, data map[string]string, now time.Time) errBody {
	t, known := templateByID(id)
	if !known {
		return apiErr(40037, "invalid template_id")
	}
	f := a.fans[to]
	if f == nil {
		return apiErr(40003, "invalid openid")
	}
	if !f.subscribed {
		return apiErr(43004, "require subscribe")
	}
	fields := map[string]bool{}
	for _, k := range t.Fields() {
		fields[k] = true
		if strings.TrimSpace(data[k]) == "" && k != "remark" {
			return apiErr(47003, "argument invalid! data."+k+".value is empty")
		}
	}
	for k, v := range data {
		if !fields[k] {
			return apiErr(47003, "argument invalid! data."+k+" is not a field of "+id)
		}
		if utf8.RuneCountInString(v) > 200 {
			return apiErr(47003, "argument invalid! data."+k+".value exceeds 200 characters")
		}
	}
	day := now.Format("2006-01-02")
	if a.templateDay != day {
		a.templateDay, a.templatesSent = day, 0
	}
	if a.templatesSent >= TemplatesPerDay {
		return apiErr(45009, "reach max api daily quota limit")
	}
	return ok
}

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
	month := now.Format("2006-01")
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

// AuthorizeHandler is WeChat's web-OAuth page (the browser, not the SDK,
// goes there), silent like snsapi_base: it signs the browser's fake WeChat
// user (its device cookie) in to the app and returns to redirect_uri with a
// code and the state. The server mounts it on its own address.
func (s *Simulator) AuthorizeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		appID, redirect, state := q.Get("appid"), q.Get("redirect_uri"), q.Get("state")
		if !appIDPattern.MatchString(appID) {
			http.Error(w, "sandbox WeChat: invalid appid", http.StatusBadRequest)
			return
		}
		if q.Get("response_type") != "code" || (q.Get("scope") != "snsapi_base" && q.Get("scope") != "snsapi_userinfo") {
			http.Error(w, "sandbox WeChat: response_type must be code and scope snsapi_base or snsapi_userinfo", http.StatusBadRequest)
			return
		}
		u, err := url.Parse(redirect)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host != r.Host {
			// WeChat only returns to the account's authorized domain; the
			// sandbox only to the server it runs in.
			http.Error(w, "sandbox WeChat: redirect_uri must be on this server (redirect_uri 域名与后台配置不一致)", http.StatusBadRequest)
			return
		}
		device := Device(w, r)
		code := randomToken()[:32]
		s.mu.Lock()
		for c, oc := range s.codes {
			if !s.now().Before(oc.expires) {
				delete(s.codes, c)
			}
		}
		s.codes[code] = &oauthCode{appID: appID, openID: s.OpenID(appID, device), expires: s.now().Add(5 * time.Minute)}
		s.mu.Unlock()
		v := u.Query()
		v.Set("code", code)
		v.Set("state", state)
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	})
}

func (s *Simulator) oauthToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	appID, secret, code := q.Get("appid"), q.Get("secret"), q.Get("code")
	if q.Get("grant_type") != "authorization_code" {
		writeJSON(w, apiErr(40002, "invalid grant_type"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a != nil && a.secret != "" && !hmac.Equal([]byte(a.secret), []byte(secret)) {
		writeJSON(w, apiErr(40125, "invalid appsecret"))
		return
	}
	oc := s.codes[code]
	if oc == nil || oc.appID != appID || !s.now().Before(oc.expires) {
		writeJSON(w, apiErr(40029, "invalid code"))
		return
	}
	delete(s.codes, code) // single use
	writeJSON(w, map[string]any{"access_token": randomToken(), "expires_in": 7200, "refresh_token": randomToken(),
		"openid": oc.openID, "scope": "snsapi_base"})
}

// DeviceCookie names the browser's fake WeChat user in the sandbox.
const DeviceCookie = "ms_sandbox_device"

// Device returns the browser's sandbox device id, giving it one if needed.
func Device(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(DeviceCookie); err == nil && len(c.Value) == 22 {
		return c.Value
	}
	id := randomToken()[:22]
	http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: id, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	r.AddCookie(&http.Cookie{Name: DeviceCookie, Value: id})
	return id
}

// NewDevice gives the browser a new fake WeChat user.
func NewDevice(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: DeviceCookie, Value: randomToken()[:22], Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// The fans' side: what a fake fan does, as the push WeChat would send for
// it (plaintext XML; SignPush in package wechat signs and encrypts it).

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

func (s *Simulator) event(a *app, openID, ev, key, tk string, now time.Time) []byte {
	p := pushXML{ToUserName: message.CDATA(OriginalID(a.id)), FromUserName: message.CDATA(openID),
		CreateTime: a.createTime(openID, now), MsgType: "event", Event: message.CDATA(ev), Ticket: message.CDATA(tk)}
	if ev == "subscribe" || ev == "SCAN" || ev == "unsubscribe" {
		k := message.CDATA(key)
		p.EventKey = &k
	}
	b, _ := xml.Marshal(p)
	return b
}

// Follow makes the fan follow the account from its profile (no scene), or
// does nothing new if it already follows (WeChat sends nothing then: nil).
func (s *Simulator) Follow(appID, openID string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a := s.appLocked(appID)
	f := a.fan(openID)
	if f.subscribed {
		return nil
	}
	f.subscribed, f.subscribedAt, f.lastEventAt, f.sentSinceEvent = true, now, now, 0
	f.say(now, "system", "You followed the account.")
	return s.event(a, openID, "subscribe", "", "", now)
}

// Unfollow makes the fan unfollow (nil if it does not follow).
func (s *Simulator) Unfollow(appID, openID string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a := s.appLocked(appID)
	f := a.fan(openID)
	if !f.subscribed {
		return nil
	}
	f.subscribed = false
	f.say(now, "system", "You unfollowed the account.")
	return s.event(a, openID, "unsubscribe", "", "", now)
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
		f.say(now, "system", "You scanned the QR code "+t.scene+".")
		return s.event(a, openID, "SCAN", t.scene, tk, now), nil
	}
	f.subscribed, f.subscribedAt = true, now
	f.say(now, "system", "You scanned the QR code "+t.scene+" and followed the account.")
	return s.event(a, openID, "subscribe", "qrscene_"+t.scene, tk, now), nil
}

// Text makes the fan write to the account, which opens the 48-hour window
// (nil if the fan does not follow: WeChat lets only followers write).
func (s *Simulator) Text(appID, openID, text string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a := s.appLocked(appID)
	f := a.fan(openID)
	if !f.subscribed {
		return nil // only followers can write to an account
	}
	f.lastMsgAt, f.sentSinceMsg = now, 0
	f.say(now, "fan", text)
	s.msgID++
	b, _ := xml.Marshal(pushXML{ToUserName: message.CDATA(OriginalID(a.id)), FromUserName: message.CDATA(openID),
		CreateTime: a.createTime(openID, now), MsgType: "text", Content: message.CDATA(text), MsgID: s.msgID})
	return b
}

// Received records a passive reply (the account's answer to a push) as
// delivered to the fan.
func (s *Simulator) Received(appID, openID, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	a := s.appLocked(appID)
	a.record(Sent{At: now, Kind: "passive", To: openID, Text: text})
	a.fan(openID).say(now, "shop", text)
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

// Outbox returns what the account sent, newest first.
func (s *Simulator) Outbox(appID string) []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a == nil {
		return nil
	}
	out := make([]Sent, len(a.outbox))
	for i, m := range a.outbox {
		out[len(out)-1-i] = m
	}
	return out
}
