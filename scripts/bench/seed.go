package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// seedWorkers is how many products are created at once.
const seedWorkers = 4

// shop is the shop the bench opened.
type shop struct {
	slug       string
	apiKey     string
	productIDs []string
	withSKUs   int
}

var categories = []string{"Tea", "Snacks", "Kitchen", "Stationery", "Toys", "Apparel", "Beauty", "Home"}

type skuIn struct {
	Name  string `json:"name"`
	Price int64  `json:"price"`
	Stock int64  `json:"stock"`
}

type productIn struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Price       int64    `json:"price"`
	Stock       int64    `json:"stock"`
	Images      []string `json:"images"`
	Category    string   `json:"category"`
	Status      string   `json:"status"`
	SKUs        []skuIn  `json:"skus,omitempty"`
}

// product i of the shop: realistic sizes, one in four with three SKUs.
func product(i int) productIn {
	p := productIn{
		Title: fmt.Sprintf("Bench product %04d · %s 精选好物", i, categories[i%len(categories)]),
		Description: strings.Repeat(fmt.Sprintf("Product %d is a fine thing to own. 这是一件很好的商品，品质可靠，发货迅速。 ", i), 3) +
			"Size: M. Material: cotton. <b>Tags are escaped</b> & so are ampersands.",
		Price:    int64(100 + (i*7919)%99900),
		Stock:    int64(i % 200),
		Category: categories[i%len(categories)],
		Status:   "on_sale",
	}
	for j := range 1 + i%3 {
		p.Images = append(p.Images, fmt.Sprintf("https://img.example.com/p/%d/%d.jpg", i, j))
	}
	if i%4 == 0 {
		for j, name := range []string{"Small", "Medium", "Large"} {
			p.SKUs = append(p.SKUs, skuIn{Name: name, Price: p.Price + int64(j)*500, Stock: int64(10 * j)})
		}
	}
	return p
}

// seedShop opens a shop through POST /api/v1/tenants and creates n products
// through POST /api/v1/products.
func seedShop(ctx context.Context, baseURL string, n int) (shop, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	var signup struct {
		Tenant struct {
			ID, Slug, Name string
		} `json:"tenant"`
		APIKey string `json:"api_key"`
	}
	err := postJSON(ctx, client, baseURL+"/api/v1/tenants", "", map[string]string{
		"name": "Bench Shop", "slug": "bench", "email": "bench@example.com", "password": "bench-password-1",
	}, http.StatusCreated, &signup)
	if err != nil {
		return shop{}, fmt.Errorf("open shop: %w", err)
	}
	if signup.APIKey == "" || signup.Tenant.Slug == "" {
		return shop{}, fmt.Errorf("open shop: answer without api_key or tenant.slug: %+v", signup)
	}
	s := shop{slug: signup.Tenant.Slug, apiKey: signup.APIKey, productIDs: make([]string, n)}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range seedWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				var out struct {
					ID string `json:"id"`
				}
				err := postJSON(ctx, client, baseURL+"/api/v1/products", s.apiKey, product(i), http.StatusCreated, &out)
				if err == nil && out.ID == "" {
					err = fmt.Errorf("answer without id")
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("create product %d: %w", i, err)
					}
					mu.Unlock()
					cancel()
					continue
				}
				s.productIDs[i] = out.ID
			}
		}()
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return shop{}, firstErr
	}
	if err := ctx.Err(); err != nil {
		return shop{}, err
	}
	for i := range n {
		if i%4 == 0 {
			s.withSKUs++
		}
	}
	return s, nil
}

// postJSON posts in as JSON and decodes the answer into out, which must
// come with status want.
func postJSON(ctx context.Context, client *http.Client, url, apiKey string, in any, want int, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := readAll(resp.Body, 1<<20)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}
