package main

// -scenario market (issue 17's benchmark):
//
//	go run ./scripts/bench -scenario market                       # 1,000 shops × 100 products
//	go run ./scripts/bench -scenario market -shops 200 -short     # a quick look
//
// It fills a fresh SQLite data directory in this process through the real
// services (shops and their catalogs through tenants and shop/catalog, each
// shop listed through market.Service, which feeds its products into the
// market's platform tables), then starts the server on it and measures:
//
//	the server's time to ready (it loads the market index from the table)
//	(a) Echo's hello in its own process, the baseline
//	(b) GET /m/api/search?q=… rotating through 20 Chinese queries: after
//	    the first second, answers come from the market's answer cache
//	(c) the same 20 queries, each asked with every category, 40 page
//	    sizes and two pages: 20,800 different searches, so no search is
//	    asked twice within the cache's 2 s unless the rate passes 10,400/s
//	    (printed): every answer is computed (the long tail)
//	a product renamed through the API: the time until a search finds it,
//	    five times (the issue: within 2 s)
//
// and prints each round and the medians, search beside the baseline as a
// ratio, with the targets (at least 2,000 searches/s, p99 under
// 50 ms at 64 connections).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"microshop/market"
	"microshop/shop/catalog"
	"microshop/tenants"
	"microshop/tenants/engine"
)

// Titles are made of an origin, a product and a pack; queries ask for
// products, origins and pairs of them.
var (
	marketOrigins  = []string{"西湖", "安吉", "武夷山", "云南", "福建", "黄山", "信阳", "杭州", "苏州", "成都", "宁夏", "新疆", "东北", "潮汕", "景德镇"}
	marketProducts = []string{"龙井绿茶", "白茶", "大红袍", "普洱熟茶", "铁观音", "毛峰", "毛尖", "丝绸围巾", "刺绣手帕", "枸杞", "红枣", "五常大米", "单丛茶", "青花瓷茶具", "蜂蜜", "腊肠", "牛肉干", "核桃", "手工皂", "竹编篮"}
	marketPacks    = []string{"250克", "500克", "礼盒装", "家庭装", "特级", "一级", "新品", "经典款"}
	marketQueries  = []string{"绿茶", "龙井", "白茶", "普洱", "铁观音", "围巾", "枸杞", "大米", "茶具", "蜂蜜", "西湖龙井", "云南 普洱", "礼盒", "牛肉干", "核桃", "手工", "新疆 红枣", "毛尖", "单丛", "竹编"}
)

const (
	marketSearchGoal = 2000.0
	marketFreshGoal  = 2 * time.Second
)

func marketTitle(r *rand.Rand) string {
	return marketOrigins[r.IntN(len(marketOrigins))] + marketProducts[r.IntN(len(marketProducts))] + " " + marketPacks[r.IntN(len(marketPacks))]
}

func marketScenario(ctx context.Context, o options) (err error) {
	shops := o.shops
	if shops == 10_000 { // the tenants scenario's default; the market's is 1,000
		shops = 1000
	}
	perShop := 100
	if o.short {
		perShop = 20
	}
	root, tmp, cleanup, err := workspace(ctx, o, "market")
	if err != nil {
		return err
	}
	defer cleanup(&err)
	fmt.Printf("market: %d listed shops × %d products on SQLite; search at %d connections, %s measured (+%s warm-up), %d round(s)\n\n",
		shops, perShop, o.conns, o.duration, o.warmup, o.rounds)

	data := filepath.Join(tmp, "data")
	step := time.Now()
	key, renamable, err := seedMarket(ctx, data, shops, perShop)
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d shops and %d products, all listed, in %s\n", shops, shops*perShop, time.Since(step).Round(time.Millisecond))

	bin, err := buildServer(ctx, root, tmp, o.serverPkg, false)
	if err != nil {
		return err
	}
	srvAddr, err := freeAddr()
	if err != nil {
		return err
	}
	step = time.Now()
	srv, err := startProcess(ctx, "server", bin, tmp, nil,
		"--addr", srvAddr, "--data", data, "--mongodb-uri=", "--demo=false", "--access-log=false")
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	srvURL := "http://" + srvAddr
	if err := waitReady(ctx, srv, srvURL+"/readyz"); err != nil {
		return err
	}
	fmt.Printf("server ready in %s (its market index loaded from the platform database)\n", time.Since(step).Round(time.Millisecond))

	base, baseAddr, err := startBaseline(ctx, tmp)
	if err != nil {
		return err
	}
	defer func() {
		if serr := base.stop(); serr != nil && err == nil {
			err = serr
		}
	}()

	targets := []target{{key: "a", name: `baseline "ok"`, proc: base}, {key: "b", name: "search, cached", proc: srv},
		{key: "c", name: "search, uncached", proc: srv}}
	if targets[0].urls, err = parseURLs("http://" + baseAddr + "/"); err != nil {
		return err
	}
	var searches []string
	for _, q := range marketQueries {
		searches = append(searches, srvURL+"/m/api/search?q="+url.QueryEscape(q))
	}
	if targets[1].urls, err = parseURLs(searches...); err != nil {
		return err
	}
	if targets[2].urls, err = parseURLs(uncachedSearches(srvURL)...); err != nil {
		return err
	}
	if err := sanityCheck(ctx, targets); err != nil {
		return err
	}
	if n, err := searchCount(ctx, srvURL, "绿茶"); err != nil || n == 0 {
		return fmt.Errorf("a search for 绿茶 finds %d products (%v): the market is empty", n, err)
	}
	fmt.Println()
	rounds, err := measureRounds(ctx, targets, o)
	if err != nil {
		return err
	}
	for _, k := range []int{1, 2} {
		var rate, p99, vs, cpu []float64
		for _, res := range rounds {
			rate = append(rate, res[k].reqPerSec)
			p99 = append(p99, float64(res[k].pct(0.99)))
			vs = append(vs, ratio(res[k], res[0]))
			if res[k].ok > 0 && res[k].cpuKnown {
				cpu = append(cpu, float64(res[k].srvCPU)/float64(res[k].ok))
			}
		}
		fmt.Printf("median over %d round(s), %s: %.0f/s (goal ≥ %.0f), p99 %s (goal < %s), %.2fx the baseline's throughput, server CPU %s per search\n",
			o.rounds, targets[k].name, median(rate), marketSearchGoal, ms(time.Duration(median(p99))), ms(goalP99), median(vs),
			time.Duration(median(cpu)).Round(time.Microsecond))
		if k == 2 {
			fmt.Printf("  (%d different searches: each asked again after %.1f s at that rate; the answer cache keeps an answer 2 s)\n",
				len(targets[2].urls), float64(len(targets[2].urls))/max(median(rate), 1))
		}
	}
	var hello []float64
	for _, res := range rounds {
		hello = append(hello, res[0].reqPerSec)
	}
	fmt.Printf("baseline (Echo hello) median %.0f/s\n", median(hello))

	// Freshness: rename a product through the API, time until search finds it.
	var fresh []float64
	client := &http.Client{Timeout: 10 * time.Second}
	for i := range 5 {
		word := fmt.Sprintf("新品%s", strings.Repeat("测", i+1)+"样")
		title := "限量" + word + "礼盒"
		body, _ := json.Marshal(map[string]string{"title": title})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPatch, srvURL+"/api/v1/products/"+renamable, strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("rename a product: %d", resp.StatusCode)
		}
		for {
			n, err := searchCount(ctx, srvURL, word)
			if err != nil {
				return err
			}
			if n > 0 {
				break
			}
			if time.Since(start) > 30*time.Second {
				return fmt.Errorf("a renamed product is not found after 30 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		fresh = append(fresh, float64(time.Since(start)))
	}
	slices.Sort(fresh)
	fmt.Printf("a product change searchable after: median %s, max %s (goal within %s)\n",
		ms(time.Duration(median(fresh))), ms(time.Duration(fresh[len(fresh)-1])), marketFreshGoal)
	if rss := srv.peakRSS(); rss != "" {
		fmt.Printf("server peak RSS %s\n", rss)
	}
	return nil
}

// uncachedSearches are 20,800 different searches (the 20 queries × no
// category and each of the 12 × page sizes 11 to 50 × the first and the
// second page), shuffled with a fixed seed.
func uncachedSearches(srvURL string) []string {
	var out []string
	for _, q := range marketQueries {
		for _, c := range append([]string{""}, market.Categories...) {
			for limit := 11; limit <= 50; limit++ {
				for _, cursor := range []string{"", "20"} {
					v := url.Values{"q": {q}, "limit": {fmt.Sprint(limit)}}
					if c != "" {
						v.Set("category", c)
					}
					if cursor != "" {
						v.Set("cursor", cursor)
					}
					out = append(out, srvURL+"/m/api/search?"+v.Encode())
				}
			}
		}
	}
	r := rand.New(rand.NewPCG(17, 17))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func parseURLs(raw ...string) ([]*url.URL, error) {
	out := make([]*url.URL, len(raw))
	for i, r := range raw {
		u, err := url.Parse(r)
		if err != nil {
			return nil, err
		}
		out[i] = u
	}
	return out, nil
}

func searchCount(ctx context.Context, srvURL, q string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srvURL+"/m/api/search?q="+url.QueryEscape(q), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	return len(out.Items), nil
}

// seedMarket fills data with shops listed on the market, through the real
// services in this process, and returns an API key of the first shop and
// one of its product ids (renamed by the freshness check).
func seedMarket(ctx context.Context, data string, shops, perShop int) (key, productID string, err error) {
	eng, err := tenants.OpenSQLite(data, catalog.Schema)
	if err != nil {
		return "", "", err
	}
	defer func() {
		if cerr := eng.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	platform := tenants.NewStore(eng)
	svc := tenants.NewService(eng, platform, log)
	cs := catalog.NewStore(eng)
	shelf := catalog.NewShelf(cs, time.Hour)
	cat := catalog.New(cs, shelf)
	mstore, err := market.NewStore(ctx, eng)
	if err != nil {
		return "", "", err
	}
	mkt := market.New(market.Options{Store: mstore, Shelf: shelf, Log: log})

	var mu sync.Mutex
	var firstErr error
	ids := make(chan int)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ids {
				t := tenants.Tenant{ID: engine.NewID(), Slug: fmt.Sprintf("mkt-%05d", i), Name: fmt.Sprintf("好物小店%d号", i),
					TimeZone: tenants.DefaultTimeZone, CreatedAt: time.Now().UTC()}
				err := platform.CreateTenant(ctx, t)
				if err == nil {
					err = eng.Provision(ctx, t.ID)
				}
				r := rand.New(rand.NewPCG(uint64(i), 17))
				for j := 0; err == nil && j < perShop; j++ {
					title, price, stock, category := marketTitle(r), int64(500+r.IntN(50000)), int64(1+r.IntN(100)), "特产"
					var p catalog.Product
					p, err = cat.Create(ctx, t.ID, catalog.Input{Title: &title, Price: &price, Stock: &stock, Category: &category})
					if i == 0 && j == 0 {
						mu.Lock()
						productID = p.ID
						mu.Unlock()
					}
				}
				if err == nil {
					listed, c := true, market.Categories[i%len(market.Categories)]
					_, err = mkt.SetListing(ctx, t, market.ListingInput{Listed: &listed, Category: &c})
				}
				if err == nil && i == 0 {
					var k string
					_, k, err = svc.CreateAPIKey(ctx, t.ID)
					mu.Lock()
					key = k
					mu.Unlock()
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("shop %d: %w", i, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range shops {
		ids <- i
	}
	close(ids)
	wg.Wait()
	return key, productID, firstErr
}
