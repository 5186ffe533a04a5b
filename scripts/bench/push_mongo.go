package main

// The Mongo half of -scenario push: how many database commands one push
// costs, counted with the driver's command monitor on a tenants.OpenMongo
// engine against FerretDB 1.24 started in this process (the wire-protocol
// stand-in only: nothing is timed). The figure must not grow with the
// shop's fans.
//
// The push is served as the /wx/{slug} handler serves it, in process:
// wechat.Account.ServePush (signature, SDK parsing) calling
// fan.Service.HandlePush (claim the push's key, store the fan), with the
// shop's account already cached (the handler's lookups of the shop and its
// settings are in-memory caches of 5 s; each costs one command per replica
// every 5 s). The work done after the answer is counted with the push; the
// hourly purge of old push records is not (one push per shop triggers it
// before the count).

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	mongooptions "go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/shop/fan"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/wechat"
)

// pushMongoSizes are the shop sizes (fans already in the shop) measured.
var pushMongoSizes = []int{10, 10_000}

// pushCommands records the commands the driver starts while on.
type pushCommands struct {
	mu  sync.Mutex
	on  bool
	seq []string
}

func (c *pushCommands) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		name := e.CommandName
		if v, err := e.Command.IndexErr(0); err == nil {
			if coll, ok := v.Value().StringValueOK(); ok {
				name += " " + coll
			}
		}
		c.mu.Lock()
		if c.on {
			c.seq = append(c.seq, name)
		}
		c.mu.Unlock()
	}}
}

func (c *pushCommands) record(fn func() error) ([]string, error) {
	c.mu.Lock()
	c.on, c.seq = true, nil
	c.mu.Unlock()
	err := fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	return c.seq, err
}

func pushMongo(ctx context.Context, o options, tmp string) (err error) {
	fmt.Println("== MongoDB engine (FerretDB in process): database commands per push, counted")
	uri, stop, err := pushStartFerretDB(ctx, tmp+"/ferretdb")
	if err != nil {
		return err
	}
	defer func() {
		if serr := stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	cmds := &pushCommands{}
	eng, err := tenants.OpenMongo(ctx, uri, "benchwx", mongooptions.Client().SetMonitor(cmds.monitor()), fan.Schema, wechat.Schema)
	if err != nil {
		return err
	}
	defer eng.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	accounts := wechat.New(wechat.NewStore(eng), tenants.NewStore(eng), wechat.Options{Log: log})
	svc := fan.NewService(fan.NewStore(eng), accounts, fan.NoAttribution{}, log)

	type row struct {
		fans                            int
		follow, scene, retry, text, bad []string
	}
	var rows []row
	for i, size := range pushMongoSizes {
		tenantID := engine.NewID()
		if err := eng.Provision(ctx, tenantID); err != nil {
			return err
		}
		if _, err := accounts.Save(ctx, tenantID, wechat.Input{AppID: fmt.Sprintf("wx%016d", i), AppSecret: strings.Repeat("b", 32),
			Token: "BenchToken1", Mode: wechat.Plaintext}); err != nil {
			return err
		}
		acct, err := accounts.Account(ctx, tenantID) // cached from here on
		if err != nil {
			return err
		}
		step := time.Now()
		if err := pushSeedFans(ctx, eng, tenantID, size); err != nil {
			return err
		}
		fmt.Printf("shop with %d fans seeded in %s\n", size, time.Since(step).Round(time.Millisecond))
		serve := func(msg []byte, tamper bool) error {
			now := time.Now().Unix()
			q, body, err := wechat.SignPush(acct.Settings, msg, now, "1")
			if err != nil {
				return err
			}
			if tamper {
				q.Set("signature", strings.Repeat("0", 40))
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/wx/bench?"+q.Encode(), bytes.NewReader(body))
			_, err = acct.ServePush(req, body, func(m *message.MixMessage) (*message.Reply, error) {
				return svc.HandlePush(ctx, acct, m)
			})
			if tamper && err != nil {
				err = nil // refused, as it must be
			}
			svc.Wait() // the work after the answer counts too
			return err
		}
		now := time.Now().Unix()
		// A first push outside the count: it triggers the hourly purge of
		// old push records, which is not per push.
		if err := serve(subscribe(fmt.Sprintf("oWarmUp%021d", size), now), false); err != nil {
			return err
		}
		r := row{fans: size}
		openID := fmt.Sprintf("oMongoBench%017d", size)
		follow := subscribe(openID, now)
		if r.follow, err = cmds.record(func() error { return serve(follow, false) }); err != nil {
			return err
		}
		if r.retry, err = cmds.record(func() error { return serve(follow, false) }); err != nil {
			return err
		}
		scened := []byte(strings.Replace(string(subscribe(openID+"s", now)), "<EventKey><![CDATA[]]>", "<EventKey><![CDATA[qrscene_guide-1]]>", 1))
		if r.scene, err = cmds.record(func() error { return serve(scened, false) }); err != nil {
			return err
		}
		text := []byte(`<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[` + openID + `]]></FromUserName><CreateTime>` +
			fmt.Sprint(now) + `</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hi]]></Content><MsgId>` +
			fmt.Sprint(now*1000+int64(size)) + `</MsgId></xml>`)
		if r.text, err = cmds.record(func() error { return serve(text, false) }); err != nil {
			return err
		}
		if r.bad, err = cmds.record(func() error { return serve(follow, true) }); err != nil {
			return err
		}
		svc.Wait()
		rows = append(rows, r)
	}
	fmt.Println()
	fmt.Printf("%-34s", "commands per push")
	for _, r := range rows {
		fmt.Printf("  %-8s", fmt.Sprintf("%d fans", r.fans))
	}
	fmt.Println("  commands (in the biggest shop)")
	last := rows[len(rows)-1]
	same := true
	for _, line := range []struct {
		name string
		get  func(row) []string
	}{
		{"subscribe, new fan", func(r row) []string { return r.follow }},
		{"subscribe through a QR scene", func(r row) []string { return r.scene }},
		{"the same push again (a retry)", func(r row) []string { return r.retry }},
		{"text message", func(r row) []string { return r.text }},
		{"forged signature", func(r row) []string { return r.bad }},
	} {
		fmt.Printf("%-34s", line.name)
		for _, r := range rows {
			fmt.Printf("  %-8d", len(line.get(r)))
			if len(line.get(r)) != len(line.get(rows[0])) {
				same = false
			}
		}
		fmt.Printf("  %s\n", strings.Join(line.get(last), ", "))
	}
	if !same {
		return fmt.Errorf("the commands per push grow with the shop's fans")
	}
	fmt.Println("the commands per push do not grow with the shop's fans")
	return nil
}

// pushSeedFans inserts n fans directly (FerretDB is slow one by one).
func pushSeedFans(ctx context.Context, eng *engine.Engine, tenantID string, n int) error {
	c := eng.Mongo(tenantID).C("fans")
	zero := time.Time{}
	now := time.Now().UTC()
	for i := 0; i < n; i += 1000 {
		var docs []any
		for j := i; j < min(n, i+1000); j++ {
			openID := fmt.Sprintf("oSeed%023d", j)
			docs = append(docs, bson.D{{Key: "_id", Value: fan.IDForOpenID(tenantID, openID)}, {Key: "openid", Value: openID},
				{Key: "subscribed", Value: true}, {Key: "source", Value: fan.SourceWeChatFollow}, {Key: "first_scene", Value: ""},
				{Key: "scene", Value: ""}, {Key: "subscribed_at", Value: now}, {Key: "unsubscribed_at", Value: zero},
				{Key: "last_message_at", Value: zero}, {Key: "last_event_at", Value: now}, {Key: "last_push_at", Value: now},
				{Key: "replies_msg", Value: 0}, {Key: "replies_event", Value: 0}, {Key: "created_at", Value: now}})
		}
		if err := c.InsertMany(ctx, docs); err != nil {
			return err
		}
	}
	return nil
}

// pushStartFerretDB starts FerretDB on a random loopback port with its
// SQLite files in dir; stop ends it.
func pushStartFerretDB(ctx context.Context, dir string) (uri string, stop func() error, err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", nil, err
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})).With("component", "ferretdb"),
	})
	if err != nil {
		return "", nil, fmt.Errorf("start FerretDB: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(runCtx); err != nil {
			slog.Error("FerretDB stopped", "err", err)
		}
	}()
	stop = func() error {
		cancel()
		select {
		case <-done:
			return nil
		case <-time.After(30 * time.Second):
			return fmt.Errorf("FerretDB did not stop within 30s")
		}
	}
	return f.MongoDBURI(), stop, nil
}
