// Command daemon is the palyra daemon's load benchmark. It builds (or takes)
// the real palyra binary, starts "palyra daemon" on a temporary state root
// with a vault on the encrypted_file backend, and then, for each mode, lets
// -clients concurrent clients (each with its own connection) send
// -requests resolve requests in all over the Unix socket. It checks every
// answer's value, and prints requests per second, p50/p99/max latency and
// the daemon's peak resident set (VmHWM from /proc/<pid>/status) as a
// Markdown table for docs/PERFORMANCE.md. It exits 1 if any request failed.
//
// Modes:
//
//	held     {"path": ...} of an on_startup reference: a value held in memory
//	per_use  {"path": ...} of a per_use vault reference: read and decrypted
//	         from the vault on every request
//	ref      {"ref": "vault://global/..."} not in the configuration: parsed,
//	         authorized against readable_scopes, read from the vault
//
// Usage (from the repository root; Linux only, for /proc):
//
//	go run ./bench/daemon [-clients 64] [-requests 100000] [-modes held,per_use,ref] [-palyra path]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

const config = `[model_provider]
openai_api_key_vault_ref = "vault://global/openai_api_key"

[tool]
token = { vault_ref = "vault://channel:slack/token", refresh = "per_use" }
`

const (
	heldValue   = "sk-bench-0123456789abcdef0123456789abcdef"
	perUseValue = "xoxb-bench-0123456789abcdef"
	refValue    = "ref-bench-0123456789abcdef"
)

type mode struct {
	name  string
	req   api.ResolveRequest
	value string
}

var modes = []mode{
	{"held", api.ResolveRequest{Path: "model_provider.openai_api_key"}, heldValue},
	{"per_use", api.ResolveRequest{Path: "tool.token"}, perUseValue},
	{"ref", api.ResolveRequest{Ref: "vault://global/by_ref"}, refValue},
}

func main() {
	clients := flag.Int("clients", 64, "concurrent clients, one connection each")
	requests := flag.Int("requests", 100000, "resolve requests per mode, over all clients")
	modeList := flag.String("modes", "held,per_use,ref", "modes to run, comma-separated: held, per_use, ref")
	palyra := flag.String("palyra", "", "palyra binary (default: scripts/build.sh into a temporary directory)")
	flag.Parse()
	if err := run(*clients, *requests, strings.Split(*modeList, ","), *palyra); err != nil {
		fmt.Fprintln(os.Stderr, "bench/daemon:", err)
		os.Exit(1)
	}
}

func run(clients, requests int, names []string, palyra string) error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("needs Linux (/proc for the daemon's peak RSS)")
	}
	if clients < 1 || requests < clients {
		return fmt.Errorf("-clients must be at least 1 and -requests at least -clients")
	}
	var selected []mode
	for _, n := range names {
		i := slices.IndexFunc(modes, func(m mode) bool { return m.name == n })
		if i < 0 {
			return fmt.Errorf("unknown mode %q: the modes are held, per_use, ref", n)
		}
		selected = append(selected, modes[i])
	}
	root, err := os.MkdirTemp("", "pdbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	if palyra == "" {
		palyra = filepath.Join(root, "palyra")
		out, err := exec.Command("scripts/build.sh", "-o", palyra).CombinedOutput()
		if err != nil {
			return fmt.Errorf("building palyra (run from the repository root): %v\n%s", err, out)
		}
	}

	ctx := context.Background()
	v, err := vault.Open(ctx, vault.Config{StateRoot: root, Backend: "encrypted_file"})
	if err != nil {
		return err
	}
	for ref, val := range map[string]string{"global/openai_api_key": heldValue, "channel:slack/token": perUseValue, "global/by_ref": refValue} {
		r, _ := secret.ParseVaultRefField(ref)
		if _, err := v.Put(ctx, r.Scope, r.Key, []byte(val)); err != nil {
			return err
		}
	}
	v.Close()
	cfg := filepath.Join(root, "palyra.toml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		return err
	}

	logs, err := os.Create(filepath.Join(root, "daemon.log"))
	if err != nil {
		return err
	}
	defer logs.Close()
	cmd := exec.Command(palyra, "daemon", "--config", cfg, "--log-level", "warn")
	cmd.Env = append(os.Environ(), "PALYRA_STATE_ROOT="+root, "PALYRA_VAULT_BACKEND=encrypted_file", "PALYRA_CONFIG=", api.EnvSocket+"=")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()
	socket := filepath.Join(root, api.DirName, api.SocketName)
	if err := waitHealthy(socket, exited); err != nil {
		return err
	}
	startRSS, _ := procStatus(cmd.Process.Pid, "VmRSS")

	fmt.Printf("palyra daemon load: %d clients, %d resolve requests per mode, GOMAXPROCS %d on %d CPUs, %s/%s\n\n",
		clients, requests, runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("daemon RSS after start: %s\n\n", kib(startRSS))
	fmt.Println("| mode | requests | errors | requests/s | p50 | p99 | max | daemon CPU per request | daemon peak RSS (VmHWM) |")
	fmt.Println("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	failed := 0
	for _, m := range selected {
		cpu0, err := procCPU(cmd.Process.Pid)
		if err != nil {
			return err
		}
		res := load(socket, m, clients, requests)
		cpu1, err := procCPU(cmd.Process.Pid)
		if err != nil {
			return err
		}
		hwm, err := procStatus(cmd.Process.Pid, "VmHWM")
		if err != nil {
			return err
		}
		slices.Sort(res.lat)
		// The warm-up requests of load (one per client) are in the CPU time
		// too; they are few enough not to matter.
		perReq := (cpu1 - cpu0) / time.Duration(requests)
		fmt.Printf("| %s | %d | %d | %.0f | %s | %s | %s | %s | %s |\n", m.name, len(res.lat)+res.errors, res.errors,
			float64(len(res.lat))/res.elapsed.Seconds(), pct(res.lat, 50), pct(res.lat, 99), res.lat[len(res.lat)-1].Round(time.Microsecond),
			perReq.Round(time.Microsecond), kib(hwm))
		if res.errors > 0 {
			fmt.Fprintf(os.Stderr, "bench/daemon: %s: %d errors, first: %v\n", m.name, res.errors, res.firstErr)
			failed += res.errors
		}
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("the daemon exited badly after SIGTERM: %v (logs in %s)", err, logs.Name())
		}
	case <-time.After(time.Minute):
		return fmt.Errorf("the daemon did not exit within a minute of SIGTERM")
	}
	if failed > 0 {
		return fmt.Errorf("%d requests failed", failed)
	}
	return nil
}

type result struct {
	lat      []time.Duration
	errors   int
	firstErr error
	elapsed  time.Duration
}

// load runs n requests of mode m over c clients. Each client has its own
// connection, opened (and checked with one request) before the clock
// starts.
func load(socket string, m mode, c, n int) result {
	cls := make([]*api.Client, c)
	for i := range cls {
		cls[i] = api.NewClient(socket)
		defer cls[i].Close()
		if resp, err := cls[i].Resolve(context.Background(), m.req); err == nil {
			resp.Value.Wipe()
		}
	}
	var next atomic.Int64
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	start := time.Now()
	for _, cl := range cls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, n/c+1)
			errs := 0
			var first error
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				resp, err := cl.Resolve(context.Background(), m.req)
				d := time.Since(t0)
				if err == nil && string(resp.Value.Reveal()) != m.value {
					err = fmt.Errorf("wrong value (%d bytes)", resp.Value.Len())
				}
				resp.Value.Wipe()
				if err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, d)
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			if res.firstErr == nil {
				res.firstErr = first
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func waitHealthy(socket string, exited <-chan error) error {
	c := api.NewClient(socket)
	defer c.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Health(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case e := <-exited:
			return fmt.Errorf("the daemon exited while starting: %v", e)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon did not answer within a minute: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procStatus returns a "<field>: N kB" value of /proc/<pid>/status, in KiB.
func procStatus(pid int, field string) (int, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// procCPU returns the user plus system CPU time process pid has used, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s, the value
// of USER_HZ on every Linux architecture Go supports).
func procCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(data), ')')
	f := strings.Fields(string(data[i+1:])) // f[0] is field 3
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

func kib(n int) string { return fmt.Sprintf("%.1f MiB", float64(n)/1024) }

func pct(sorted []time.Duration, p int) string {
	if len(sorted) == 0 {
		return "-"
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)].Round(time.Microsecond).String()
}
