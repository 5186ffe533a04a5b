package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// pprofEnv names the address a profiling build of the server serves
// net/http/pprof on (see pprofOverlay).
const pprofEnv = "MICROSHOP_BENCH_PPROF"

// pprofOverlay is added to the server's package main, at build time only
// (go build -overlay), when -pprof is given: the repository is not touched
// and the measured build without -pprof is the server exactly as it is.
const pprofOverlay = `package main

import (
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("` + pprofEnv + `")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		panic(err)
	}
	go http.Serve(ln, nil)
}
`

// goCommand runs the go tool in dir and returns its standard output.
func goCommand(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// buildServer builds pkg (relative to root) into tmp, with the pprof
// listener added when profile is set.
func buildServer(ctx context.Context, root, tmp, pkg string, profile bool) (string, error) {
	bin := filepath.Join(tmp, "server")
	args := []string{"build", "-o", bin}
	if profile {
		pkgDir, err := filepath.Abs(filepath.Join(root, pkg))
		if err != nil {
			return "", err
		}
		src := filepath.Join(tmp, "zz_bench_pprof.go")
		if err := os.WriteFile(src, []byte(pprofOverlay), 0o644); err != nil {
			return "", err
		}
		overlay, err := json.Marshal(map[string]map[string]string{
			"Replace": {filepath.Join(pkgDir, "zz_bench_pprof.go"): src},
		})
		if err != nil {
			return "", err
		}
		ov := filepath.Join(tmp, "overlay.json")
		if err := os.WriteFile(ov, overlay, 0o644); err != nil {
			return "", err
		}
		args = append(args, "-overlay", ov)
	}
	args = append(args, pkg)
	if _, err := goCommand(ctx, root, args...); err != nil {
		return "", err
	}
	return bin, nil
}

// proc is a server process the bench started.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error
	once    sync.Once
	stopErr error
}

// startProcess starts bin with args; its output goes to <tmp>/<name>.log.
func startProcess(ctx context.Context, name, bin, tmp string, env []string, args ...string) (*proc, error) {
	logPath := filepath.Join(tmp, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	// Not CommandContext: on interrupt we still want SIGTERM and a clean
	// shutdown, which stop does.
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits for a clean exit (killing after 35 s: the
// server gives in-flight requests 30 s).
func (p *proc) stop() error {
	p.once.Do(func() {
		if p.exited() {
			p.stopErr = fmt.Errorf("%s exited early: %v\n%s", p.name, p.waitErr, p.logTail())
			return
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			p.stopErr = fmt.Errorf("signal %s: %w", p.name, err)
			return
		}
		t := time.NewTimer(35 * time.Second)
		defer t.Stop()
		select {
		case <-p.done:
			if p.waitErr != nil {
				p.stopErr = fmt.Errorf("%s did not exit cleanly: %v\n%s", p.name, p.waitErr, p.logTail())
			}
		case <-t.C:
			_ = p.cmd.Process.Kill()
			<-p.done
			p.stopErr = fmt.Errorf("%s ignored SIGTERM for 35s; killed", p.name)
		}
	})
	return p.stopErr
}

// logTail is the end of the process's output, for error messages.
func (p *proc) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return strings.TrimSpace(string(b))
}

// waitReady polls url until it answers 200, the process exits, or 60 s pass.
func waitReady(ctx context.Context, p *proc, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if p.exited() {
			return fmt.Errorf("%s exited before it was ready: %v\n%s", p.name, p.waitErr, p.logTail())
		}
		code, _, err := httpGet(ctx, client, url, nil)
		if err == nil && code == http.StatusOK {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after 60s (last: %d %v)\n%s", p.name, code, err, p.logTail())
		}
		pause(ctx, 50*time.Millisecond)
	}
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux
// everywhere that matters).
const clockTick = 10 * time.Millisecond

// cpuTime is the user+system CPU time of process pid ("self" for this one),
// read from /proc; ok is false where there is no /proc.
func cpuTime(pid string) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * clockTick, true
}

func (p *proc) cpu() (time.Duration, bool) { return cpuTime(strconv.Itoa(p.pid())) }

// peakRSS is the process's peak resident set (VmHWM), or "".
func (p *proc) peakRSS() string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid()) + "/status")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// readAll reads at most limit bytes of r.
func readAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = errors.New("response larger than limit")
	}
	return b, err
}
