package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"microshop/tenants/engine"
	"microshop/tenants/enginetest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// serverBinary builds the server once per test run.
func serverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "microshop-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "server")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// process is the server binary running as a child process.
type process struct {
	cmd  *exec.Cmd
	base string
	mu   sync.Mutex
	log  strings.Builder
	done chan error
}

// listeningAt is the address the server's log says it listens at.
var listeningAt = regexp.MustCompile(`msg=listening addr=(http://\S+)`)

// startBinary runs the server with args and env on a port it picks itself
// (read from its log: a port picked by the test and freed for the child
// could be taken by another package's test in between), and waits until
// /readyz answers.
func startBinary(t *testing.T, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(serverBinary(t), append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = cmd.Stdout
	p := &process{cmd: cmd, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	m := p.waitFor(t, listeningAt, 60*time.Second)
	if m == nil {
		t.Fatalf("server never said where it listens; log:\n%s", p.output())
	}
	p.base = m[1]
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not become ready; log:\n%s", p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitFor is re's first match in the server's log, waiting up to within
// for the line (the log is read by a goroutine of its own); nil if it
// never came.
func (p *process) waitFor(t *testing.T, re *regexp.Regexp, within time.Duration) []string {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(p.output()); m != nil || time.Now().After(deadline) {
			return m
		}
	}
}

// stop sends SIGTERM and expects a clean exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("server exited with %v; log:\n%s", err, p.output())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not stop on SIGTERM; log:\n%s", p.output())
	}
	if !strings.Contains(p.output(), "database closed") {
		t.Errorf("shutdown did not close the database; log:\n%s", p.output())
	}
}

// flow signs up, adds a product and finds it on the storefront.
func flow(t *testing.T, base, slug string) (shop, productJSON) {
	t.Helper()
	s := signUp(t, base, slug)
	api := s.apiClient(t, base)
	p := api.createProduct(map[string]any{"title": "Binary tea " + slug, "price": 1234, "stock": 3})
	status, body := newClient(t, base).do(http.MethodGet, "/s/"+slug+"/", nil, "")
	if status != http.StatusOK || !strings.Contains(string(body), "Binary tea "+slug) || !strings.Contains(string(body), "¥12.34") {
		t.Fatalf("storefront: %d, product missing", status)
	}
	return s, p
}

// TestBinaryOnSQLite: the first start opens the demo shop and prints its
// login; a SIGTERM shuts down cleanly and nothing written is lost.
func TestBinaryOnSQLite(t *testing.T) {
	data := t.TempDir()
	p := startBinary(t, nil, "--data", data)
	if p.waitFor(t, regexp.MustCompile(`demo shop opened.*email=demo@microshop.local password=\S+`), 5*time.Second) == nil {
		t.Errorf("no demo login in the log:\n%s", p.output())
	}
	if !strings.Contains(p.output(), "listening") || !strings.Contains(p.output(), data) {
		t.Errorf("log does not say where it listens and where the data is:\n%s", p.output())
	}
	status, body := newClient(t, p.base).do(http.MethodGet, "/s/demo/", nil, "")
	if n := strings.Count(string(body), `class="item"`); status != http.StatusOK || n != 12 {
		t.Errorf("demo shop: %d with %d products", status, n)
	}
	s, prod := flow(t, p.base, "sqlite-shop")
	p.stop(t)

	p = startBinary(t, nil, "--data", data)
	if strings.Contains(p.output(), "demo shop opened") {
		t.Error("demo shop opened again on a used data dir")
	}
	var got productJSON
	if status := s.apiClient(t, p.base).json(http.MethodGet, "/api/v1/products/"+prod.ID, nil, &got); status != http.StatusOK || got.Title != prod.Title {
		t.Errorf("after restart: %d %+v", status, got)
	}
	p.stop(t)
}

// TestBinaryOnMongo runs the whole platform on the Mongo engine (FerretDB in
// process, or MICROSHOP_TEST_MONGODB_URI) through the real binary.
func TestBinaryOnMongo(t *testing.T) {
	uri := enginetest.MongoURI(t)
	db := "bin" + engine.NewSecret(8)
	p := startBinary(t, []string{"MONGODB_URI=" + uri}, "--mongodb-db", db, "--demo=false")
	if !strings.Contains(p.output(), "mongodb databases "+db) {
		t.Errorf("log does not name the Mongo databases:\n%s", p.output())
	}
	flow(t, p.base, "mongo-shop")
	p.stop(t)
}

func TestHelpListsEverySetting(t *testing.T) {
	out, err := exec.Command(serverBinary(t), "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("--help: %v\n%s", err, out)
	}
	for _, want := range []string{"-addr", "PORT", "-data", "MICROSHOP_DATA", "MONGODB_URI", "-demo", "-base-url", "-secret"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--help does not mention %s:\n%s", want, out)
		}
	}
}
