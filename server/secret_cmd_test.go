package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"flag"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
	"microshop/tenants/fault"
	"microshop/tenants/secret"
	"microshop/tenants/wechat"
)

// newSecretKey is a random key as MICROSHOP_SECRET_KEY holds it, and its box.
func newSecretKey(t testing.TB) (string, *secret.Box) {
	t.Helper()
	key := make([]byte, secret.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	text := base64.StdEncoding.EncodeToString(key)
	box, err := secret.Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return text, box
}

// sealedValues is every sealed value the database holds, whatever record
// it is in (every table of every SQLite file, every document of every
// Mongo database of the engine, read apart from the engine), and whether
// plain is found anywhere.
func sealedValues(t *testing.T, e *engine.Engine, plain string) (sealed []string, plainFound bool) {
	t.Helper()
	pattern := regexp.MustCompile(regexp.QuoteMeta(secret.Prefix) + `[A-Za-z0-9+/]+`)
	see := func(s string) {
		sealed = append(sealed, pattern.FindAllString(s, -1)...)
		plainFound = plainFound || strings.Contains(s, plain)
	}
	ctx := context.Background()
	if e.Kind() == engine.SQLite {
		dir := secretKeyDir(Config{}, e)
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".db") {
				return err
			}
			db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
			if err != nil {
				return err
			}
			defer db.Close()
			var tables []string
			rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
			if err != nil {
				return err
			}
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					return err
				}
				tables = append(tables, name)
			}
			rows.Close()
			for _, table := range tables {
				rows, err := db.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
				if err != nil {
					return err
				}
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						return err
					}
					for _, v := range vals {
						switch v := v.(type) {
						case string:
							see(v)
						case []byte:
							see(string(v))
						}
					}
				}
				rows.Close()
			}
			return nil
		})
		if err != nil {
			t.Fatalf("read the sqlite files: %v", err)
		}
		return sealed, plainFound
	}
	client, err := mongo.Connect(options.Client().ApplyURI(enginetest.MongoURI(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Disconnect(ctx)
	prefix := e.PlatformMongo().Name()
	names, err := client.ListDatabaseNames(ctx, bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var walk func(v bson.RawValue)
	walk = func(v bson.RawValue) {
		switch v.Type {
		case bson.TypeString:
			see(v.StringValue())
		case bson.TypeEmbeddedDocument, bson.TypeArray:
			vals, _ := bson.Raw(v.Value).Values()
			for _, inner := range vals {
				walk(inner)
			}
		}
	}
	for _, name := range names {
		if name != prefix && !strings.HasPrefix(name, prefix+"_") {
			continue
		}
		db := client.Database(name)
		colls, err := db.ListCollectionNames(ctx, bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		for _, coll := range colls {
			cur, err := db.Collection(coll).Find(ctx, bson.D{})
			if err != nil {
				t.Fatal(err)
			}
			for cur.Next(ctx) {
				walk(bson.RawValue{Type: bson.TypeEmbeddedDocument, Value: cur.Current})
			}
			if err := cur.Err(); err != nil {
				t.Fatal(err)
			}
			cur.Close(ctx)
		}
	}
	return sealed, plainFound
}

// sealedWith says which of the boxes' keys sealed the values: their ids,
// counted; "none" for a value none opens.
func sealedWith(values []string, boxes ...*secret.Box) map[string]int {
	out := map[string]int{}
	for _, v := range values {
		id := "none"
		for _, b := range boxes {
			if _, err := b.Open(v); err == nil {
				id = b.ID()
				break
			}
		}
		out[id]++
	}
	return out
}

// rotationSecrets is what the platform keeps sealed, as its services read
// it.
type rotationSecrets struct {
	component    wechat.ComponentConfig
	refreshToken string
	settings     map[string]wechat.Settings
	pay          map[string]order.WeChatPaySettings
}

func readRotationSecrets(t *testing.T, a *app, ids []string) rotationSecrets {
	t.Helper()
	ctx := context.Background()
	var r rotationSecrets
	var err error
	if r.component, err = a.wxcomp.comp.Config(ctx); err != nil {
		t.Fatalf("component: %v", err)
	}
	auth, err := a.wxcomp.comp.Authorization(ctx, ids[0])
	if err != nil {
		t.Fatalf("authorisation: %v", err)
	}
	r.refreshToken = auth.RefreshToken
	r.settings, r.pay = map[string]wechat.Settings{}, map[string]order.WeChatPaySettings{}
	for _, id := range ids {
		st, err := a.wechat.accounts.Settings(ctx, id)
		if err != nil {
			t.Fatalf("wechat settings of %s: %v", id, err)
		}
		st.Rev, st.UpdatedAt = 0, time.Time{} // a reseal writes the next revision
		r.settings[id] = st
		ost, err := a.orders.Settings(ctx, id)
		if err != nil {
			t.Fatalf("order settings of %s: %v", id, err)
		}
		r.pay[id] = ost.WeChatPay
	}
	return r
}

func (r rotationSecrets) check(t *testing.T, when string, want rotationSecrets) {
	t.Helper()
	if r.component.AppSecret != want.component.AppSecret || r.component.EncodingAESKey != want.component.EncodingAESKey || r.component.AppSecret == "" {
		t.Errorf("%s: the component's secrets read %q %q, want %q %q", when, r.component.AppSecret, r.component.EncodingAESKey,
			want.component.AppSecret, want.component.EncodingAESKey)
	}
	if r.refreshToken != want.refreshToken || r.refreshToken == "" {
		t.Errorf("%s: refresh token %q, want %q", when, r.refreshToken, want.refreshToken)
	}
	for id, st := range want.settings {
		if got := r.settings[id]; got != st || got.AppSecret == "" {
			t.Errorf("%s: wechat settings of %s: %+v, want %+v", when, id, got, st)
		}
	}
	for id, w := range want.pay {
		if got := r.pay[id]; got != w || got.APIv3Key == "" || got.PrivateKey == "" {
			t.Errorf("%s: wechat pay keys of %s: %+v, want %+v", when, id, got, w)
		}
	}
}

// TestSecretKeyRotation: secrets sealed with key A read on a platform
// restarted with key B and A as previous; `secret reseal` seals every one
// with B (and one stored before sealing began), a second run changes
// nothing, and the platform then reads them all with B alone. A record
// holding a secret no key opens is left as it is and makes the command
// fail. On both engines.
func TestSecretKeyRotation(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		enginetest.AllowFullScan(t, e, "replicas", "the reseal reads the replicas register whole, as a starting replica does")
		enginetest.AllowFullScan(t, e, "tenants", "the reseal walks every shop")
		keyA, boxA := newSecretKey(t)
		keyB, boxB := newSecretKey(t)
		_, boxC := newSecretKey(t)
		cfgA := testConfig()
		cfgA.SecretKey = keyA
		a1, srv := startAppWith(t, e, cfgA)

		// Sealed with A: the component, a shop's authorisation, two shops'
		// WeChat settings and WeChat Pay keys; one API v3 key stored
		// before sealing began.
		setUpComponent(t, a1, srv.URL)
		one, two := signUp(t, srv.URL, "rotate-one"), signUp(t, srv.URL, "rotate-two")
		connectByScanning(t, one.consoleClient(t, srv.URL))
		ids := []string{one.ID, two.ID}
		const plainKey = "plainApiV3KeyFromBeforeSealing0"
		pay := map[string]order.WeChatPaySettings{}
		for i, id := range ids {
			st, err := order.NewStore(e).Settings(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			st.WeChatPay = order.WeChatPaySettings{AppID: "wx00000000rotate", MchID: "190000000" + string(rune('1'+i)),
				APIv3Key: "apiV3KeyOfTheShop0123456789abcd", PrivateKey: "-----BEGIN PRIVATE KEY-----\nshop " + id + "\n-----END PRIVATE KEY-----"}
			if err := order.SealStore(order.NewStore(e), boxA).SaveSettings(ctx, id, st); err != nil {
				t.Fatal(err)
			}
			pay[id] = st.WeChatPay
			if i == 1 { // stored before sealing began: plain
				raw, _ := order.NewStore(e).Settings(ctx, id)
				raw.WeChatPay.APIv3Key = plainKey
				if err := order.NewStore(e).SaveSettings(ctx, id, raw); err != nil {
					t.Fatal(err)
				}
				pay[id] = order.WeChatPaySettings{AppID: st.WeChatPay.AppID, MchID: st.WeChatPay.MchID, APIv3Key: plainKey, PrivateKey: st.WeChatPay.PrivateKey}
			}
		}
		want := readRotationSecrets(t, a1, ids)
		want.pay = pay
		sealed, plainFound := sealedValues(t, e, plainKey)
		if by := sealedWith(sealed, boxA); len(sealed) < 8 || by[boxA.ID()] != len(sealed) || !plainFound {
			t.Fatalf("before the rotation: %d sealed values, by key %v, plain one found %t", len(sealed), by, plainFound)
		}

		// Restarted with B, A previous: everything reads.
		cfgB := testConfig()
		cfgB.SecretKey, cfgB.SecretKeyPrevious = keyB, keyA
		a2, _ := startAppWith(t, e, cfgB)
		readRotationSecrets(t, a2, ids).check(t, "with B and previous A", want)

		// The replicas' check: beside A (the new replica opens what it
		// seals) but not beside an unrelated key; one with A alone does not
		// start beside one sealing with B.
		live := &app{cfg: a2.cfg, wechat: a2.wechat}
		live.cfg.WeChat = "live"
		if err := live.clash(replicaRecord{Mode: "live", KeyID: boxA.ID()}); err != nil {
			t.Errorf("B with previous A beside A: %v", err)
		}
		if err := live.clash(replicaRecord{Mode: "live", KeyID: boxB.ID()}); err != nil {
			t.Errorf("B with previous A beside B: %v", err)
		}
		if err := live.clash(replicaRecord{Mode: "live", KeyID: boxC.ID()}); !errors.Is(err, errKeyReplicas) || !strings.Contains(err.Error(), "--secret-key-previous") {
			t.Errorf("B with previous A beside C: %v, want errKeyReplicas", err)
		}
		old := &app{cfg: a1.cfg, wechat: a1.wechat}
		old.cfg.WeChat = "live"
		if err := old.clash(replicaRecord{Mode: "live", KeyID: boxB.ID()}); !errors.Is(err, errKeyReplicas) {
			t.Errorf("A alone beside B: %v, want errKeyReplicas", err)
		}

		reseal := func(cfg Config, dryRun bool) (string, error) {
			var out bytes.Buffer
			err := resealSecrets(ctx, cfg, e, dryRun, &out, slog.New(slog.NewTextHandler(io.Discard, nil)))
			return out.String(), err
		}
		// A live replica still sealing with A: the reseal waits for it.
		reg := &app{engine: e}
		if err := e.ExtendPlatform(ctx, engine.Platform{SQLite: replicasSQLite, Mongo: replicasMongo}); err != nil {
			t.Fatal(err)
		}
		stale := replicaRecord{ID: "old-replica", Mode: "live", Host: "elsewhere", StartedAt: time.Now().UTC(), KeyID: boxA.ID()}
		if err := reg.beat(ctx, stale); err != nil {
			t.Fatal(err)
		}
		if out, err := reseal(cfgB, false); err == nil || !strings.Contains(err.Error(), "old-replica") {
			t.Fatalf("reseal beside a replica sealing with A: %v\n%s", err, out)
		}
		out, err := reseal(cfgB, true)
		if err != nil || !strings.Contains(out, "warning: the replica old-replica") ||
			!strings.Contains(out, "wechat third-party platform: 1 to reseal, 0 already current") ||
			!strings.Contains(out, "wechat authorisations: 1 to reseal") || !strings.Contains(out, "wechat pay keys: 2 to reseal, 0 already current") {
			t.Fatalf("dry run: %v\n%s", err, out)
		}
		if err := reg.leaveReplicas(ctx, stale.ID); err != nil {
			t.Fatal(err)
		}
		if after, _ := sealedValues(t, e, plainKey); !slices.Equal(after, sealed) {
			t.Fatal("the dry run wrote")
		}

		out, err = reseal(cfgB, false)
		if err != nil || !strings.Contains(out, "wechat third-party platform: 1 resealed, 0 already current") ||
			!strings.Contains(out, "wechat authorisations: 1 resealed, 0 already current") ||
			!strings.Contains(out, "wechat pay keys: 2 resealed, 0 already current") ||
			!strings.Contains(out, "the previous keys can be dropped") {
			t.Fatalf("reseal: %v\n%s", err, out)
		}
		t.Logf("reseal:\n%s", out)
		resealed, plainFound := sealedValues(t, e, plainKey)
		if by := sealedWith(resealed, boxB, boxA); by[boxB.ID()] != len(resealed) || len(resealed) != len(sealed)+1 || plainFound {
			t.Fatalf("after the reseal: %d sealed values (%d before, and one plain), by key %v, plain one found %t", len(resealed), len(sealed), by, plainFound)
		}
		readRotationSecrets(t, a2, ids).check(t, "after the reseal", want)

		// Again: nothing to do.
		out, err = reseal(cfgB, false)
		if err != nil || strings.Count(out, " 0 resealed") != 4 || !strings.Contains(out, "wechat pay keys: 0 resealed, 2 already current") {
			t.Fatalf("second reseal: %v\n%s", err, out)
		}
		if again, _ := sealedValues(t, e, plainKey); !slices.Equal(again, resealed) {
			t.Error("the second reseal wrote")
		}

		// Restarted with B alone: everything reads.
		cfgB.SecretKeyPrevious = ""
		a3, _ := startAppWith(t, e, cfgB)
		readRotationSecrets(t, a3, ids).check(t, "with B alone", want)

		// A secret no key opens is left as it is, and the run says so.
		st, err := order.NewStore(e).Settings(ctx, one.ID)
		if err != nil {
			t.Fatal(err)
		}
		st.WeChatPay.APIv3Key, _ = boxC.Seal("sealed with a lost key")
		if err := order.NewStore(e).SaveSettings(ctx, one.ID, st); err != nil {
			t.Fatal(err)
		}
		out, err = reseal(cfgB, false)
		if err == nil || !strings.Contains(out, "wechat pay keys: 0 resealed, 1 already current, 1 opened by no key") ||
			!strings.Contains(out, "wechat pay keys of shop rotate-one") {
			t.Fatalf("reseal with a lost key's secret: %v\n%s", err, out)
		}
		if got, _ := order.NewStore(e).Settings(ctx, one.ID); got.WeChatPay != st.WeChatPay {
			t.Errorf("the record with a lost key's secret was written: %+v", got.WeChatPay)
		}
	})
}

// TestSecretResealCommand: `microshop secret reseal` from the command
// line, on a SQLite data directory: the key is one the servers use (never
// one made up), the previous key from the environment, and --help.
func TestSecretResealCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keyA, boxA := newSecretKey(t)
	keyB, boxB := newSecretKey(t)
	e, err := tenants.OpenSQLite(dir, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.SecretKey, cfg.DataDir = keyA, dir
	a, srv := startAppWith(t, e, cfg)
	s := signUp(t, srv.URL, "reseal-cli")
	acct, err := a.wechat.accounts.Settings(ctx, s.ID) // sandbox credentials, sealed with A
	if err != nil || acct.AppSecret == "" {
		t.Fatalf("settings: %+v %v", acct, err)
	}
	srv.Close()
	a.wechat.fans.Wait()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	cmd := func(env map[string]string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"secret"}, args...), func(k string) string { return env[k] }, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := cmd(nil, "--help"); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out, "--secret-key-previous") || !strings.Contains(out, "microshop secret reseal") {
		t.Errorf("--help: %v\n%s", err, out)
	}
	if out, err := cmd(nil, "rotate", "--data", dir); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Errorf("an unknown command: %v\n%s", err, out)
	}
	// No key given and no key file: no key is made up.
	if out, err := cmd(nil, "reseal", "--data", dir); err == nil || !strings.Contains(err.Error(), "no key to reseal with") {
		t.Errorf("without a key: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, secret.KeyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a key file was made: %v", err)
	}
	if out, err := cmd(map[string]string{"MICROSHOP_SECRET_KEY": keyB, "MICROSHOP_SECRET_KEY_PREVIOUS": "not a key"}, "reseal", "--data", dir); err == nil ||
		!strings.Contains(err.Error(), "MICROSHOP_SECRET_KEY_PREVIOUS") {
		t.Errorf("a bad previous key: %v\n%s", err, out)
	}
	// B without A: the settings open with no key, and stay as they are.
	if out, err := cmd(map[string]string{"MICROSHOP_SECRET_KEY": keyB}, "reseal", "--data", dir); err == nil ||
		!strings.Contains(out, "wechat settings: 0 resealed, 0 already current, 1 opened by no key") {
		t.Errorf("B alone: %v\n%s", err, out)
	}
	out, err := cmd(map[string]string{"MICROSHOP_SECRET_KEY": keyB, "MICROSHOP_SECRET_KEY_PREVIOUS": keyA}, "reseal", "--data", dir)
	if err != nil || !strings.Contains(out, "wechat settings: 1 resealed, 0 already current") ||
		!strings.Contains(out, "sealing with key "+boxB.ID()+"; previous keys: "+boxA.ID()) {
		t.Fatalf("reseal: %v\n%s", err, out)
	}

	e, err = tenants.OpenSQLite(dir, schemas...)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	st, err := wechat.SealStore(wechat.NewStore(e), boxB).Settings(ctx, s.ID)
	if err != nil || st.AppSecret != acct.AppSecret || st.EncodingAESKey != acct.EncodingAESKey {
		t.Errorf("the settings with B alone: %v %+v", err, st)
	}
}

// TestResealRacesWithSaves: a reseal writes a record only as it read it
// (the stores' revisions): a merchant's save in between is read again,
// never undone. The merchant here saves with the old key, so every save
// gives the reseal something to rewrite. On both engines.
func TestResealRacesWithSaves(t *testing.T) {
	enginetest.Kinds(t, schemas, func(t *testing.T, e *engine.Engine) {
		ctx := context.Background()
		_, boxA := newSecretKey(t)
		_, boxB := newSecretKey(t)
		ring := boxB.WithPrevious(boxA)
		tenantID := engine.NewID()
		if err := e.Provision(ctx, tenantID); err != nil {
			t.Fatal(err)
		}
		// The merchant's replica seals with A and opens what B sealed.
		merchant := wechat.SealStore(wechat.NewStore(e), boxA.WithPrevious(boxB))
		st := wechat.Settings{AppID: "wx00000000race01", AppSecret: "appSecretOfTheRaceShop0123456789", Token: "token",
			EncodingAESKey: strings.Repeat("k", 43), Mode: wechat.Safe, Rev: 1}
		if err := merchant.SaveSettings(ctx, tenantID, st); err != nil {
			t.Fatal(err)
		}
		resealer, err := wechat.NewResealer(ctx, e, ring)
		if err != nil {
			t.Fatal(err)
		}
		const saves = 15
		saved, done := make(chan struct{}), make(chan struct{})
		var resealed int
		go func() {
			defer close(done)
			for {
				select {
				case <-saved:
					return
				default:
				}
				out, err := resealer.Settings(ctx, tenantID, false)
				if err != nil {
					t.Errorf("reseal: %v", err)
					return
				}
				if out == secret.Resealed {
					resealed++
				}
			}
		}()
		for i := 1; i <= saves; i++ {
			for {
				cur, err := merchant.Settings(ctx, tenantID)
				if err != nil {
					t.Fatal(err)
				}
				cur.Welcome = "welcome " + string(rune('a'+i))
				cur.Rev++
				err = merchant.SaveSettings(ctx, tenantID, cur)
				if err == nil {
					break
				}
				if !errors.Is(err, fault.ErrConflict) {
					close(saved)
					<-done
					t.Fatal(err)
				}
			}
			time.Sleep(2 * time.Millisecond) // the reseal's turn
		}
		close(saved)
		<-done
		if _, err := resealer.Settings(ctx, tenantID, false); err != nil {
			t.Fatal(err)
		}
		got, err := wechat.SealStore(wechat.NewStore(e), boxB).Settings(ctx, tenantID)
		if err != nil || got.Welcome != "welcome "+string(rune('a'+saves)) || got.AppSecret != st.AppSecret || got.EncodingAESKey != st.EncodingAESKey {
			t.Errorf("after racing saves: %v %+v (resealed %d times)", err, got, resealed)
		}
		if resealed == 0 {
			t.Error("the reseal never wrote beside the saves")
		}
		t.Logf("the reseal wrote %d times beside %d saves", resealed, saves)
	})
}
