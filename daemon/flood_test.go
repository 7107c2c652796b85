//go:build linux

package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/daemon"
	"github.com/palyra/palyra-vault/daemon/api"
	"github.com/palyra/palyra-vault/daemon/internal/audit"
	"github.com/palyra/palyra-vault/daemon/internal/fixture"
	"github.com/palyra/palyra-vault/internal/testutil"
)

// floodEnv turns this test binary into a flooding client: see floodMain.
const floodEnv = "PALYRA_DAEMON_TEST_FLOOD"

// The size of one flooder's attack: idle connections opened one after the
// other and held, then connections that each pipeline requests.
const (
	floodIdleConns = 600
	floodPipeConns = 100
	floodPipeDepth = 50
	// floodCloseBound is how long the daemon may keep a refused caller's
	// connection (it closes it after about two seconds, or at once).
	floodCloseBound = 8 * time.Second
)

// floodResult is what a flooder saw.
type floodResult struct {
	Dialed, DialErrors int
	// Answers by status over all connections.
	Status503, Status403, OtherStatus int
	// StillOpen counts connections the daemon had not closed after
	// floodCloseBound; MaxClose is the longest it took to close one.
	StillOpen int
	MaxClose  time.Duration
	// Requests were sent pipelined; Responses came back for them.
	Requests, Responses int
}

// floodMain opens floodIdleConns connections to the socket argv[1] without
// sending anything, waits until the daemon has closed them all, then opens
// floodPipeConns connections that each send floodPipeDepth pipelined
// resolve requests (again when the connection limits answer 503). It reads
// every connection until the daemon closes it, and prints a floodResult.
func floodMain() int {
	socket := os.Args[1]
	var mu sync.Mutex
	var res floodResult
	// watch reads c until EOF (or floodCloseBound), counts the answers and
	// returns the status of the first.
	watch := func(c net.Conn, start time.Time) string {
		defer c.Close()
		c.SetReadDeadline(start.Add(floodCloseBound))
		data, err := io.ReadAll(c)
		took := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			res.StillOpen++
		} else if took > res.MaxClose {
			res.MaxClose = took
		}
		first := ""
		// Answers follow each other on a kept-alive connection; each
		// starts with its status line (a JSON body holds no "HTTP/1.1 ").
		for rest := data; ; {
			i := bytes.Index(rest, []byte("HTTP/1.1 "))
			if i < 0 || len(rest) < i+12 {
				break
			}
			status := rest[i+9 : i+12]
			rest = rest[i+12:]
			res.Responses++
			switch {
			case bytes.HasPrefix(status, []byte("503")):
				res.Status503++
			case bytes.HasPrefix(status, []byte("403")):
				res.Status403++
			default:
				res.OtherStatus++
			}
			if first == "" {
				first = string(status)
			}
		}
		return first
	}
	dial := func() (net.Conn, bool) {
		c, err := net.Dial("unix", socket)
		mu.Lock()
		defer mu.Unlock()
		res.Dialed++
		if err != nil {
			res.DialErrors++
			return nil, false
		}
		return c, true
	}
	var wg sync.WaitGroup
	for range floodIdleConns {
		if c, ok := dial(); ok {
			wg.Add(1)
			go func() { defer wg.Done(); watch(c, time.Now()) }()
		}
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait() // the daemon closed every idle connection: its slots are free

	var req bytes.Buffer
	body := `{"path":"model_provider.openai_api_key"}`
	for range floodPipeDepth {
		fmt.Fprintf(&req, "POST %s HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			api.PathResolve, len(body), body)
	}
	// Four at a time; a connection the limits refuse (while the other
	// flooders hold the slots) is tried again, up to a bound.
	sem := make(chan struct{}, 4)
	for range floodPipeConns {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			for range 500 {
				c, ok := dial()
				if !ok {
					return
				}
				start := time.Now()
				c.SetWriteDeadline(start.Add(floodCloseBound))
				c.Write(req.Bytes()) // fails once the daemon has closed: that is fine
				mu.Lock()
				res.Requests += floodPipeDepth
				mu.Unlock()
				if watch(c, start) != "503" {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

// countFDs returns the number of open file descriptors of pid.
func countFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestDaemonBinarySurvivesAFloodFromRefusedUIDs runs the daemon with small
// connection limits and a small audit log, reads a secret as its owner,
// then lets three uids that may not call flood it with idle and pipelined
// connections, and checks that the owner is served throughout, the limits
// hold (counted in /proc/<pid>/fd), every refused connection is closed by
// the daemon after one answer, the allowed read's audit record survives,
// and the warnings on stderr stay few.
func TestDaemonBinarySurvivesAFloodFromRefusedUIDs(t *testing.T) {
	if os.Geteuid() != 0 {
		testutil.SkipOrFailInCI(t, "needs root: the flooding clients run as uids 65532-65534 with setuid")
	}
	const maxConns, perUID = 24, 8
	s := newSite(t, fixture.Secrets(), fixture.Config+fmt.Sprintf(`
[daemon]
socket_shared = true
max_connections = %d
max_connections_per_uid = %d
audit_max_bytes = 4096
audit_keep = 1
`, maxConns, perUID))
	// The socket's directory is 0711 with socket_shared; open the state
	// root above it too, as for TestDaemonBinaryRefusesCallersOfAnotherUID.
	if err := os.Chmod(s.Root, 0o711); err != nil {
		t.Fatal(err)
	}
	cmd, stderr := s.command()
	cmd.Args = append(cmd.Args, "--log-level", "info") // the last one counts: no per-request debug lines
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &daemonProc{t: t, cmd: cmd, stderr: stderr, done: make(chan struct{}), client: api.NewClient(s.socket())}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.client.Close()
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	// Each health check dials anew, as a new palyra command would: a
	// kept-alive connection would hide a full connection table.
	health := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := api.NewClient(s.socket())
		defer c.Close()
		_, err := c.Health(ctx)
		return err
	}
	for deadline := time.Now().Add(60 * time.Second); health() != nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the daemon did not answer within a minute\n%s", stderr)
		}
	}
	if v := p.mustResolve(api.ResolveRequest{Path: "model_provider.openai_api_key"}); v != "sk-test-123" {
		t.Fatalf("value %q", v)
	}
	baseFDs := countFDs(t, cmd.Process.Pid)

	uids := []uint32{65534, 65533, 65532}
	results := make([]floodResult, len(uids))
	var wg sync.WaitGroup
	for i, uid := range uids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := exec.Command(helperBin, s.socket())
			c.Env = []string{floodEnv + "=1", "HOME=/nonexistent", "GORACE=atexit_sleep_ms=0"}
			c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: 65534}}
			var errb bytes.Buffer
			c.Stderr = &errb
			out, err := c.Output()
			if err != nil {
				t.Errorf("flooder as uid %d: %v\n%s", uid, err, errb.String())
				return
			}
			if err := json.Unmarshal(out, &results[i]); err != nil {
				t.Errorf("flooder output %q: %v", out, err)
			}
		}()
	}
	flooding := make(chan struct{})
	go func() { wg.Wait(); close(flooding) }()

	// While they flood: the owner's health checks all succeed, and the
	// daemon's descriptors stay within the limits.
	// (The loop runs until the flooders exit, failed or not, so that none
	// outlives the test.)
	checks, maxFDs := 0, 0
	var healthErr error
	for done := false; !done; {
		select {
		case <-flooding:
			done = true
		default:
		}
		if err := health(); err != nil {
			if healthErr == nil {
				healthErr = fmt.Errorf("the owner's health check failed during the flood (after %d good ones): %w", checks, err)
			}
		} else {
			checks++
		}
		maxFDs = max(maxFDs, countFDs(t, cmd.Process.Pid))
		time.Sleep(20 * time.Millisecond)
	}
	if healthErr != nil {
		t.Fatal(healthErr)
	}
	if t.Failed() {
		return
	}
	if limit := baseFDs + maxConns; maxFDs > limit {
		t.Fatalf("the daemon had %d descriptors open during the flood, over %d (%d before it, limit %d)", maxFDs, limit, baseFDs, maxConns)
	}
	if maxFDs < baseFDs+perUID {
		t.Fatalf("the flood never reached the daemon: at most %d descriptors, %d before", maxFDs, baseFDs)
	}
	var total floodResult
	for i, r := range results {
		t.Logf("uid %d: %+v", uids[i], r)
		if r.StillOpen != 0 || r.DialErrors != 0 || r.OtherStatus != 0 {
			t.Fatalf("uid %d: %d connections left open after %v, %d dial errors, %d answers neither 403 nor 503", uids[i], r.StillOpen, floodCloseBound, r.DialErrors, r.OtherStatus)
		}
		// One answer per pipelining connection, 403: the daemon closes a
		// refused caller's connection after its first answer. The
		// connections over the limits got 503.
		if r.Status403 != floodPipeConns || r.Status503 == 0 {
			t.Fatalf("uid %d: %d answers 403 to %d pipelined requests on %d connections (want one each), %d answers 503",
				uids[i], r.Status403, r.Requests, floodPipeConns, r.Status503)
		}
		total.Dialed += r.Dialed
		total.Requests += r.Requests
		total.Status503 += r.Status503
		total.Status403 += r.Status403
		total.MaxClose = max(total.MaxClose, r.MaxClose)
	}
	if total.Status503 == 0 || total.Status403 == 0 {
		t.Fatalf("the limits were never reached or no caller was refused: %+v", total)
	}
	t.Logf("flood: %d connections, %d pipelined requests; %d answered 503, %d 403; slowest close %v; %d owner health checks; descriptors %d before, %d at most",
		total.Dialed, total.Requests, total.Status503, total.Status403, total.MaxClose, checks, baseFDs, maxFDs)

	// Stop the daemon: the audit log writes its last summaries.
	p.signal(syscall.SIGTERM)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := filepath.Join(s.Root, api.DirName)
	allowed := fixture.ReadAudit(t, filepath.Join(dir, daemon.AuditName))
	if len(allowed) != 1 || allowed[0].Decision != audit.Allowed || allowed[0].UID != 0 || allowed[0].Path != "model_provider.openai_api_key_vault_ref" {
		t.Fatalf("the allowed read's record did not survive the flood: %+v", allowed)
	}
	deniedFiles := []string{filepath.Join(dir, daemon.AuditDeniedName)}
	if _, err := os.Stat(deniedFiles[0] + ".1"); err == nil {
		deniedFiles = append(deniedFiles, deniedFiles[0]+".1")
	}
	summed := map[uint32]int{}
	for _, r := range fixture.ReadAudit(t, deniedFiles...) {
		summed[r.UID] += r.Suppressed
	}
	for _, uid := range uids {
		if summed[uid] == 0 {
			t.Fatalf("no summary of uid %d's denials in the denied log: %v", uid, summed)
		}
	}
	// Warnings: a few per uid and window, not one per request.
	warns := 0
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		if strings.Contains(sc.Text(), "level=WARN") {
			warns++
		}
	}
	if n := len(stderr.String()); warns > 200 || n > 256<<10 {
		t.Fatalf("%d warnings, %d bytes on stderr for %d requests\n%s", warns, n, total.Requests, stderr)
	}
	t.Logf("stderr: %d warnings, %d bytes; audit: %d denials summed up", warns, len(stderr.String()), summed[uids[0]]+summed[uids[1]]+summed[uids[2]])
}
