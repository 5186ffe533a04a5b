package main

// The Mongo half of -scenario orders: how many database commands one order
// costs, counted with the driver's command monitor on a tenants.OpenMongo
// engine against FerretDB 1.24 started in this process. FerretDB is the
// wire-protocol stand-in only (it scans whole collections, docs/ARCHITECTURE.md), so
// nothing here is timed: the figure is the number of commands, which must
// not grow with the shop's data.
//
// The order service and its storefront handlers are built on the engine as
// server/app.go builds them and driven in-process (no network between the
// handler and this program; the tenant and fan are set on the request the
// way the storefront's middlewares set them). An order is measured twice
// per shop size:
//
//   - storefront: POST /s/{slug}/api/orders with an Idempotency-Key, then
//     POST .../pay with {"sandbox_confirm":true}, through the real handlers
//     (what the SQLite half times over HTTP): the shop pays through the
//     WeChat Pay v3 simulator (in this process: nothing is timed), whose
//     notification reaches /pay/notify/{slug}/wechat through the handlers;
//   - service: order.Service.Place then Pay with sandbox_confirm (no
//     idempotency key, no handler lookups).
//
// Both include the order events dispatched inline (the stock keeper
// committing the held units when the order is paid). The measured orders
// come from ordersMongoBuyers fans who ordered before, as the timed half's
// buyers do after their first order (a fan's first order on a process
// also records the fan: two commands more). The engine's lookups of where
// a shop's data is (the platform's placements, cached a moment) are not
// per order: they are counted apart.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/labstack/echo/v4"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	mongooptions "go.mongodb.org/mongo-driver/v2/mongo/options"

	"microshop/shop/catalog"
	"microshop/shop/fan"
	"microshop/shop/order"
	"microshop/tenants"
	"microshop/tenants/engine"
	"microshop/tenants/fault"
	"microshop/tenants/wechat/paysim"
)

// ordersMongoSizes are the shop sizes (orders already in the shop) at which
// an order's commands are counted. At each, ordersMongoPerSize orders are
// measured per path (one with -short): FerretDB reads the whole collection
// for every command, so an order in the big shop takes seconds there.
var ordersMongoSizes = []int{10, 10_000}

const ordersMongoPerSize = 2

// ordersMongoGoal is issue 14's target: database commands per storefront
// order (place + pay).
const ordersMongoGoal = 12

// ordersMongoBuyers place the measured orders, each after a first order of
// its own (not measured).
const ordersMongoBuyers = 4

// ordersFanHeader carries the fan id to the in-process storefront (the real
// one reads it from the signed cookie).
const ordersFanHeader = "X-Bench-Fan"

// ordersCommands records the commands the driver starts while recording is on.
type ordersCommands struct {
	mu      sync.Mutex
	on      bool
	seq     []string // "find orders", in the order sent
	lookups int      // "find placements" left out of seq
}

func (c *ordersCommands) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		name := e.CommandName
		if v, err := e.Command.IndexErr(0); err == nil {
			if coll, ok := v.Value().StringValueOK(); ok {
				name += " " + coll
			}
		}
		c.mu.Lock()
		switch {
		case !c.on:
		case name == "find placements":
			c.lookups++
		default:
			c.seq = append(c.seq, name)
		}
		c.mu.Unlock()
	}}
}

func (c *ordersCommands) start() {
	c.mu.Lock()
	c.on, c.seq = true, nil
	c.mu.Unlock()
}

func (c *ordersCommands) stop() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	return c.seq
}

// ordersMongoShop is one shop on the Mongo engine with the order service and
// its storefront handlers.
type ordersMongoShop struct {
	eng      *engine.Engine
	cmds     *ordersCommands
	tenant   tenants.Tenant
	svc      *order.Service
	store    order.Store
	sandbox  *order.Sandbox
	sim      *paysim.Simulator
	echo     *echo.Echo
	products []catalog.Product
	fans     []string
	orders   int // orders in the shop
	seeded   int // of which seeded
	seq      int
}

// ordersMongoCount is what one order cost, command by command.
type ordersMongoCount struct {
	place, pay []string
}

func (c ordersMongoCount) total() int { return len(c.place) + len(c.pay) }

func (c ordersMongoCount) equal(d ordersMongoCount) bool {
	return slices.Equal(c.place, d.place) && slices.Equal(c.pay, d.pay)
}

func ordersMongo(ctx context.Context, o options, tmp string) (err error) {
	fmt.Println("== Mongo engine: database commands per order (FerretDB 1.24 in this process, driver command monitor; not timed)")
	uri, stopFerret, err := ordersStartFerretDB(ctx, tmp+"/ferretdb")
	if err != nil {
		return err
	}
	defer func() {
		if serr := stopFerret(); serr != nil && err == nil {
			err = serr
		}
	}()

	cmds := &ordersCommands{}
	schemas := []engine.Schema{catalog.Schema, fan.Schema, order.Schema} // as server/app.go
	eng, err := tenants.OpenMongo(ctx, uri, "bench", mongooptions.Client().SetMonitor(cmds.monitor()), schemas...)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := eng.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	m, err := newOrdersMongoShop(ctx, eng, cmds)
	if err != nil {
		return err
	}

	type row struct {
		size            int
		front, service  []ordersMongoCount
		frontOK, servOK bool
	}
	var rows []row
	for i, size := range ordersMongoSizes {
		if err := m.seed(ctx, size); err != nil {
			return err
		}
		if i == 0 {
			// Each buyer's first order (the shop's first also generates
			// its sandbox merchant account): not measured.
			for range ordersMongoBuyers {
				if _, err := m.storefrontOrder(ctx); err != nil {
					return fmt.Errorf("warm-up order: %w", err)
				}
			}
		}
		r := row{size: size}
		perSize := ordersMongoPerSize
		if o.short {
			perSize = 1
		}
		for range perSize {
			c, err := m.storefrontOrder(ctx)
			if err != nil {
				return fmt.Errorf("shop of %d orders: %w", size, err)
			}
			r.front = append(r.front, c)
		}
		for range perSize {
			c, err := m.serviceOrder(ctx)
			if err != nil {
				return fmt.Errorf("shop of %d orders: %w", size, err)
			}
			r.service = append(r.service, c)
		}
		rows = append(rows, r)
	}

	// Every order, at every size, must have sent the same commands.
	same := func(cs []ordersMongoCount, ref ordersMongoCount) bool {
		for _, c := range cs {
			if !c.equal(ref) {
				return false
			}
		}
		return true
	}
	refFront, refService := rows[0].front[0], rows[0].service[0]
	allSame := true
	for i := range rows {
		rows[i].frontOK, rows[i].servOK = same(rows[i].front, refFront), same(rows[i].service, refService)
		allSame = allSame && rows[i].frontOK && rows[i].servOK
	}

	fmt.Printf("commands per order (%d order(s) measured per path and shop size; place + pay, events dispatched inline included)\n", len(rows[0].front))
	counts := func(cs []ordersMongoCount, f func(ordersMongoCount) int) string {
		var parts []string
		for _, c := range cs {
			parts = append(parts, fmt.Sprint(f(c)))
		}
		return strings.Join(slices.Compact(parts), "/")
	}
	fmt.Printf("  %-28s %-18s %-18s\n", "orders in the shop", "storefront", "service")
	fmt.Printf("  %-28s %-18s %-18s\n", "", "place+pay = total", "place+pay = total")
	for _, r := range rows {
		cell := func(cs []ordersMongoCount) string {
			return fmt.Sprintf("%s+%s = %s", counts(cs, func(c ordersMongoCount) int { return len(c.place) }),
				counts(cs, func(c ordersMongoCount) int { return len(c.pay) }), counts(cs, ordersMongoCount.total))
		}
		fmt.Printf("  %-28s %-18s %-18s\n", fmt.Sprintf("%d", r.size), cell(r.front), cell(r.service))
	}
	verdict := "the same commands, in the same order, for every order at every size"
	if !allSame {
		verdict = "MISS: the commands differ between orders or sizes (sequences below)"
	}
	if allSame {
		if refFront.total() <= ordersMongoGoal {
			verdict = "PASS: " + verdict + fmt.Sprintf(", at most %d per storefront order", ordersMongoGoal)
		} else {
			verdict = fmt.Sprintf("MISS (more than %d per storefront order): ", ordersMongoGoal) + verdict
		}
	}
	fmt.Printf("10 vs %d orders: %d vs %d commands per storefront order, %d vs %d per service order; %s\n",
		rows[len(rows)-1].size, refFront.total(), rows[len(rows)-1].front[0].total(),
		refService.total(), rows[len(rows)-1].service[0].total(), verdict)
	printSeq := func(label string, seq []string) {
		fmt.Printf("  %-16s %2d: %s\n", label, len(seq), strings.Join(seq, ", "))
	}
	fmt.Println("one storefront order, command by command:")
	printSeq("place", refFront.place)
	printSeq("pay", refFront.pay)
	fmt.Println("one service order (Place, Pay with sandbox_confirm):")
	printSeq("Place", refService.place)
	printSeq("Pay", refService.pay)
	fmt.Printf("placement lookups (the engine's cache of where a shop's data is; not per order): %d in all\n", m.cmds.lookups)
	if !allSame {
		for _, r := range rows {
			for i, c := range append(slices.Clone(r.front), r.service...) {
				fmt.Printf("  shop of %d, order %d:\n", r.size, i)
				printSeq("place", c.place)
				printSeq("pay", c.pay)
			}
		}
		return fmt.Errorf("commands per order grow with the data or vary between orders")
	}
	return nil
}

// ordersStartFerretDB starts FerretDB on a random loopback port with its
// SQLite files in dir (the setup of tenants/enginetest, which cannot be
// imported here: it pulls in package testing). stop ends it.
func ordersStartFerretDB(ctx context.Context, dir string) (uri string, stop func() error, err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", nil, err
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		// FerretDB logs every connection at INFO and every failed command
		// (an expected duplicate key, the driver's endSessions) at WARN.
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})).
			With("component", "ferretdb"),
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
	// MongoDBURI waits for Run to open the listener.
	return f.MongoDBURI(), stop, nil
}

func newOrdersMongoShop(ctx context.Context, eng *engine.Engine, cmds *ordersCommands) (*ordersMongoShop, error) {
	t := tenants.Tenant{ID: engine.NewID(), Slug: "bench-orders", Name: "Bench Orders"}
	if err := eng.Provision(ctx, t.ID); err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// As server/app.go wires them.
	catalogStore := catalog.NewStore(eng)
	cat := catalog.New(catalogStore, catalog.NewShelf(catalogStore, 2*time.Second))
	store := order.NewStore(eng)
	svc := order.NewService(store, cat, fan.NewStore(eng), log)
	// One instant: FerretDB takes seconds a command in the big shop, which
	// must not expire what the service keeps a few seconds (the shop's
	// order settings), as it would not on a real MongoDB.
	now := time.Now().UTC().Truncate(time.Millisecond)
	svc.SetClock(func() time.Time { return now })
	sandbox := order.NewSandbox([]byte("sandbox-pay:bench"))
	sim, err := paysim.New(paysim.Options{Log: log})
	if err != nil {
		return nil, err
	}
	svc.SetWeChatPay(order.NewWeChatPay(sim.Client(), sim))
	h := order.NewHandlers(svc, sandbox, "", tenants.Counters{})

	e := echo.New()
	e.HTTPErrorHandler = fault.Handler(log)
	g := e.Group("/s/:slug", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tenants.WithTenant(c, t)
			fan.WithFan(c, c.Request().Header.Get(ordersFanHeader))
			return next(c)
		}
	})
	h.StorefrontAPIRoutes(g)
	h.NotifyRoutes(e.Group("/pay/notify/:slug", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			tenants.WithTenant(c, t)
			return next(c)
		}
	}))
	sim.SetNotifier(paysim.Handler(e))

	m := &ordersMongoShop{eng: eng, cmds: cmds, tenant: t, svc: svc, store: store, sandbox: sandbox, sim: sim, echo: e}
	for i := range 10 {
		title, price, stock := fmt.Sprintf("Order bench product %d", i), int64(1000+i*100), int64(ordersStock)
		p, err := cat.Create(ctx, t.ID, catalog.Input{Title: &title, Price: &price, Stock: &stock})
		if err != nil {
			return nil, err
		}
		m.products = append(m.products, p)
	}
	return m, nil
}

// seed fills the shop up to n orders, each with its payment and its
// idempotency key, from one fan in three, with direct inserts (the order
// store's Insert, and the payments, keys and fans in batches).
func (m *ordersMongoShop) seed(ctx context.Context, n int) error {
	if m.orders >= n {
		return nil
	}
	const batch = 500
	db := m.eng.Mongo(m.tenant.ID)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for from := m.orders; from < n; from += batch {
		to := min(n, from+batch)
		var fans, payments, keys []any
		orders := make([]order.Order, 0, to-from)
		for i := from; i < to; i++ {
			if m.seeded%3 == 0 {
				id := engine.NewID()
				m.fans = append(m.fans, id)
				fans = append(fans, bson.D{{Key: "_id", Value: id}, {Key: "openid", Value: ""}, {Key: "subscribed", Value: false},
					{Key: "source", Value: "direct"}, {Key: "created_at", Value: now.Add(-time.Duration(n-i) * time.Minute)}})
			}
			p := m.products[i%len(m.products)]
			at := now.Add(-time.Duration(n-i) * time.Minute)
			m.seeded++
			o := order.Order{ID: engine.NewID(), FanID: m.fans[len(m.fans)-1], Status: order.Paid,
				Lines:      []order.Line{{ProductID: p.ID, Title: p.Title, Price: p.Price, Qty: 1, Amount: p.Price}},
				Address:    order.Address{Name: "张三", Phone: "13812345678", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路 1 号"},
				GoodsTotal: p.Price, Payable: p.Price, CreatedAt: at, ExpiresAt: at.Add(30 * time.Minute)}
			orders = append(orders, o)
			payments = append(payments, order.Payment{Provider: order.ProviderSandbox, TransactionID: "sbx_" + o.ID,
				OrderID: o.ID, Amount: o.Payable, At: at})
			keys = append(keys, order.IdemKey{Scope: o.FanID, Key: "seed-" + o.ID, Hash: "seed", OrderID: o.ID,
				Status: http.StatusCreated, Body: []byte(`{}`), At: at})
		}
		for name, docs := range map[string][]any{"fans": fans, "payments": payments, "idempotency_keys": keys} {
			if len(docs) == 0 {
				continue
			}
			if err := db.C(name).InsertMany(ctx, docs); err != nil {
				return fmt.Errorf("seed %s: %w", name, err)
			}
		}
		// The order store's own Insert, a few at a time (inserts are safe
		// on FerretDB concurrently: no update is involved).
		var wg sync.WaitGroup
		errs := make([]error, len(orders))
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < len(orders); i += 8 {
					errs[i] = m.store.Insert(ctx, m.tenant.ID, &orders[i])
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("seed orders: %w", err)
			}
		}
	}
	m.orders = n
	return nil
}

// next picks the fan and product of the next measured order.
func (m *ordersMongoShop) next() (fanID string, p catalog.Product, key string) {
	m.seq++
	return m.fans[m.seq%min(ordersMongoBuyers, len(m.fans))], m.products[m.seq%len(m.products)], fmt.Sprintf("measured-%d", m.seq)
}

// serve sends one request to the in-process storefront.
func (m *ordersMongoShop) serve(ctx context.Context, path, fanID, key string, body any, want int, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/s/"+m.tenant.Slug+"/api"+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ordersFanHeader, fanID)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	rec := httptest.NewRecorder()
	m.echo.ServeHTTP(rec, req)
	if rec.Code != want {
		return fmt.Errorf("POST %s: status %d: %.300s", req.URL.Path, rec.Code, rec.Body.Bytes())
	}
	return json.Unmarshal(rec.Body.Bytes(), out)
}

// storefrontOrder places and pays one order through the storefront handlers.
func (m *ordersMongoShop) storefrontOrder(ctx context.Context) (ordersMongoCount, error) {
	fanID, p, key := m.next()
	var c ordersMongoCount
	var placed struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	m.cmds.start()
	err := m.serve(ctx, "/orders", fanID, key, order.PlaceRequest{
		Items:   []order.CartItemRequest{{ProductID: p.ID, Qty: 1}},
		Address: order.Address{Name: "张三", Phone: "13812345678", Province: "浙江省", City: "杭州市", District: "西湖区", Detail: "文三路 1 号"},
	}, http.StatusCreated, &placed)
	c.place = m.cmds.stop()
	if err != nil {
		return c, err
	}
	if placed.Status != order.PendingPayment {
		return c, fmt.Errorf("placed order %s is %q", placed.ID, placed.Status)
	}
	var paid struct {
		Status string `json:"status"`
	}
	m.cmds.start()
	err = m.serve(ctx, "/orders/"+placed.ID+"/pay", fanID, "", map[string]bool{"sandbox_confirm": true}, http.StatusOK, &paid)
	c.pay = m.cmds.stop()
	if err != nil {
		return c, err
	}
	if paid.Status != order.Paid {
		return c, fmt.Errorf("paid order %s is %q", placed.ID, paid.Status)
	}
	return c, m.settled(ctx, placed.ID)
}

// serviceOrder places and pays one order through the service.
func (m *ordersMongoShop) serviceOrder(ctx context.Context) (ordersMongoCount, error) {
	fanID, p, _ := m.next()
	var c ordersMongoCount
	m.cmds.start()
	o, err := m.svc.Place(ctx, m.tenant.ID, fanID, "", order.PlaceRequest{
		Items:   []order.CartItemRequest{{ProductID: p.ID, Qty: 1}},
		Address: order.Address{Name: "李四", Phone: "13912345678", Province: "广东省", City: "深圳市", District: "南山区", Detail: "科技园 8 栋"},
	})
	c.place = m.cmds.stop()
	if err != nil {
		return c, err
	}
	m.cmds.start()
	paid, err := m.svc.Pay(ctx, m.sandbox, m.tenant.ID, fanID, o.ID, order.PayRequest{SandboxConfirm: true,
		NotifyURL: "http://bench.example/pay/notify/" + m.tenant.Slug + "/wechat"})
	c.pay = m.cmds.stop()
	if err != nil {
		return c, err
	}
	if paid.Status != order.Paid {
		return c, fmt.Errorf("paid order %s is %q", o.ID, paid.Status)
	}
	return c, m.settled(ctx, o.ID)
}

// settled checks (not counted) that the paid order's events were delivered
// inline: nothing is left in its outbox.
func (m *ordersMongoShop) settled(ctx context.Context, id string) error {
	m.orders++
	o, err := m.store.Get(ctx, m.tenant.ID, id)
	if err != nil {
		return err
	}
	if o.Status != order.Paid || len(o.Events) > 0 {
		return fmt.Errorf("order %s: status %q with %d undelivered events", id, o.Status, len(o.Events))
	}
	return nil
}
