// Package etcdproc runs, for tests, a real etcd cluster of their own: three
// members of Debian's etcd-server (3.4) on loopback, with client TLS whose
// certificates it makes (a CA, a server certificate for 127.0.0.1, a client
// certificate), and etcd authentication on: a user whose role may read and
// write only keys under one prefix. Ports are chosen by the kernel (a
// listener on port 0, closed just before etcd binds it), so runs in
// parallel do not collide. A test may kill -9 a member, find the leader and
// restart a member on its data directory. Import it from tests only.
package etcdproc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/internal/testutil"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Prefix is the key prefix the test user's role is limited to. Tests put
// each vault under a prefix of their own below it (Cluster.NewPrefix).
const Prefix = "/palyra-test/"

// User is the etcd user the tests connect as; its role "palyra-test" may
// read and write keys under Prefix and nothing else.
const User = "palyra"

// Cluster is a running etcd cluster.
type Cluster struct {
	// Dir holds the certificates, the password file and each member's
	// data directory and log.
	Dir string
	// CAFile, CertFile and KeyFile are PEM files: the CA that signed the
	// server and client certificates, and the client's certificate and key.
	CAFile, CertFile, KeyFile string
	// Password is User's password; PasswordFile holds it (0600).
	Password, PasswordFile string
	// RootPassword is the password of etcd's root user.
	RootPassword string

	mu      sync.Mutex
	members []*member
}

type member struct {
	name             string
	clientURL        string
	peerURL          string
	dataDir, logFile string
	cmd              *exec.Cmd
	done             chan struct{}
}

// Available reports why no cluster can start here ("" when one can): the
// etcd program is missing.
func Available() string {
	if _, err := exec.LookPath("etcd"); err != nil {
		return "needs etcd (apt-get install etcd-server etcd-client)"
	}
	return ""
}

// Start starts a cluster of n members (1 or 3, say) and sets up TLS and
// authentication; it returns once the cluster answers. The caller stops it.
func Start(n int) (*Cluster, error) {
	if why := Available(); why != "" {
		return nil, errors.New(why)
	}
	dir, err := os.MkdirTemp("", "palyra-etcd-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir}
	if err := c.makeCerts(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.Password, c.RootPassword = randHex(16), randHex(16)
	c.PasswordFile = filepath.Join(dir, "password")
	if err := os.WriteFile(c.PasswordFile, []byte(c.Password+"\n"), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	var initial []string
	for i := range n {
		m := &member{
			name:      fmt.Sprintf("m%d", i),
			clientURL: fmt.Sprintf("https://127.0.0.1:%d", ports[2*i]),
			peerURL:   fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1]),
			dataDir:   filepath.Join(dir, fmt.Sprintf("m%d.data", i)),
			logFile:   filepath.Join(dir, fmt.Sprintf("m%d.log", i)),
		}
		c.members = append(c.members, m)
		initial = append(initial, m.name+"="+m.peerURL)
	}
	token := "palyra-test-" + randHex(4)
	for _, m := range c.members {
		if err := c.startMember(m, "new", strings.Join(initial, ","), token); err != nil {
			c.Stop()
			return nil, err
		}
	}
	if err := c.waitReady(30 * time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	if err := c.setUpAuth(); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) startMember(m *member, state, initial, token string) error {
	args := []string{
		"--name", m.name, "--data-dir", m.dataDir,
		"--listen-client-urls", m.clientURL, "--advertise-client-urls", m.clientURL,
		"--listen-peer-urls", m.peerURL, "--initial-advertise-peer-urls", m.peerURL,
		"--heartbeat-interval", "50", "--election-timeout", "500",
		"--cert-file", filepath.Join(c.Dir, "server.pem"), "--key-file", filepath.Join(c.Dir, "server-key.pem"),
		"--trusted-ca-file", c.CAFile, "--client-cert-auth",
		"--logger", "zap", "--log-outputs", m.logFile,
	}
	if state != "" {
		args = append(args, "--initial-cluster", initial, "--initial-cluster-state", state, "--initial-cluster-token", token)
	}
	cmd := exec.Command("etcd", args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.Dir}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting etcd member %s: %w", m.name, err)
	}
	m.cmd, m.done = cmd, make(chan struct{})
	go func(done chan struct{}) { _ = cmd.Wait(); close(done) }(m.done)
	return nil
}

// Endpoints returns every member's client URL.
func (c *Cluster) Endpoints() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.members))
	for i, m := range c.members {
		out[i] = m.clientURL
	}
	return out
}

// TLS returns the client TLS configuration (the CA and client certificate).
func (c *Cluster) TLS() (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Client returns a client of the cluster as user with password (root with
// RootPassword, User with Password), or without authentication when user
// is empty. The caller closes it.
func (c *Cluster) Client(user, password string) (*clientv3.Client, error) {
	tc, err := c.TLS()
	if err != nil {
		return nil, err
	}
	return clientv3.New(clientv3.Config{
		Endpoints: c.Endpoints(), TLS: tc, DialTimeout: 5 * time.Second,
		Username: user, Password: password, Logger: zap.NewNop(),
	})
}

// Root returns a client as etcd's root user. The caller closes it.
func (c *Cluster) Root() (*clientv3.Client, error) { return c.Client("root", c.RootPassword) }

func (c *Cluster) waitReady(limit time.Duration) error {
	cli, err := c.Client("", "")
	if err != nil {
		return err
	}
	defer cli.Close()
	if err := answersWithin(cli, limit); err != nil {
		return fmt.Errorf("etcd cluster not ready after %s: %v%s", limit, err, c.logTail())
	}
	return nil
}

// WaitHealthy waits until every running member answers a linearizable read.
func (c *Cluster) WaitHealthy(limit time.Duration) error {
	cli, err := c.Root()
	if err != nil {
		return err
	}
	defer cli.Close()
	if err := answersWithin(cli, limit); err != nil {
		return fmt.Errorf("etcd cluster not healthy after %s: %v", limit, err)
	}
	return nil
}

// answersWithin retries a linearizable read through cli until it succeeds
// or limit has passed, and returns the last error.
func answersWithin(cli *clientv3.Client, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Get(ctx, "health")
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) setUpAuth() error {
	cli, err := c.Client("", "")
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	steps := []func() error{
		func() error { _, err := cli.RoleAdd(ctx, "palyra-test"); return err },
		func() error {
			_, err := cli.RoleGrantPermission(ctx, "palyra-test", Prefix, clientv3.GetPrefixRangeEnd(Prefix), clientv3.PermissionType(clientv3.PermReadWrite))
			return err
		},
		func() error { _, err := cli.UserAdd(ctx, "root", c.RootPassword); return err },
		func() error { _, err := cli.UserGrantRole(ctx, "root", "root"); return err },
		func() error { _, err := cli.UserAdd(ctx, User, c.Password); return err },
		func() error { _, err := cli.UserGrantRole(ctx, User, "palyra-test"); return err },
		func() error { _, err := cli.AuthEnable(ctx); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			return fmt.Errorf("setting up etcd authentication (step %d): %w", i+1, err)
		}
	}
	return nil
}

// NewPrefix returns a prefix of its own below Prefix, for one test.
func NewPrefix() string { return Prefix + randHex(8) + "/" }

// Kill kills member i with SIGKILL and waits for it to die.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	m := c.members[i]
	c.mu.Unlock()
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	<-m.done
	m.cmd = nil
}

// Restart starts member i again on its data directory (after Kill).
func (c *Cluster) Restart(i int) error {
	c.mu.Lock()
	m := c.members[i]
	c.mu.Unlock()
	if m.cmd != nil {
		return fmt.Errorf("member %s is running", m.name)
	}
	return c.startMember(m, "", "", "")
}

// Outage kills the given members (every member when none is given) with
// SIGKILL, for a test of an outage, and returns restart: it starts them
// again on their data directories and waits until the cluster is healthy,
// failing t otherwise. restart runs once; it also runs when t ends, so a
// test that failed midway leaves the shared cluster whole for the next.
func (c *Cluster) Outage(t testing.TB, members ...int) (restart func()) {
	t.Helper()
	if len(members) == 0 {
		for i := range c.Members() {
			members = append(members, i)
		}
	}
	for _, i := range members {
		c.Kill(i)
	}
	var once sync.Once
	restart = func() {
		once.Do(func() {
			for _, i := range members {
				if err := c.Restart(i); err != nil {
					t.Errorf("restarting etcd member %d: %v", i, err)
					return
				}
			}
			if err := c.WaitHealthy(30 * time.Second); err != nil {
				t.Errorf("etcd after restarting members %v: %v", members, err)
			}
		})
	}
	t.Cleanup(restart)
	return restart
}

// Members returns the number of members.
func (c *Cluster) Members() int { return len(c.members) }

// Leader returns the index of the member that leads now.
func (c *Cluster) Leader() (int, error) {
	cli, err := c.Root()
	if err != nil {
		return -1, err
	}
	defer cli.Close()
	for i, ep := range c.Endpoints() {
		if c.members[i].cmd == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := cli.Status(ctx, ep)
		cancel()
		if err == nil && st.Leader == st.Header.MemberId {
			return i, nil
		}
	}
	return -1, errors.New("no member says it leads")
}

// Stop kills every member and removes Dir.
func (c *Cluster) Stop() {
	for i := range c.members {
		c.Kill(i)
	}
	os.RemoveAll(c.Dir)
}

func (c *Cluster) logTail() string {
	var b strings.Builder
	for _, m := range c.members {
		data, _ := os.ReadFile(m.logFile)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 5 {
			lines = lines[len(lines)-5:]
		}
		fmt.Fprintf(&b, "\n--- %s log tail:\n%s", m.name, strings.Join(lines, "\n"))
	}
	return b.String()
}

var (
	shared    *Cluster
	sharedErr error
	sharedMu  sync.Mutex
)

// Shared returns the test binary's cluster of 3 members, starting it on
// first use. Without etcd it skips t (fails it in CI: SkipOrFailInCI).
// Main stops it when the tests end.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	if why := Available(); why != "" {
		testutil.SkipOrFailInCI(t, why)
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = Start(3)
	}
	if sharedErr != nil {
		t.Fatalf("starting etcd: %v", sharedErr)
	}
	return shared
}

// Main runs the tests of m and stops the shared cluster; call it from
// TestMain: os.Exit(etcdproc.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	sharedMu.Lock()
	if shared != nil {
		shared.Stop()
		shared = nil
	}
	sharedMu.Unlock()
	return code
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// makeCerts writes ca.pem, server.pem/server-key.pem (for 127.0.0.1 and
// localhost) and client.pem/client-key.pem, all signed by the CA.
func (c *Cluster) makeCerts() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "palyra test etcd CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)
	c.CAFile = filepath.Join(c.Dir, "ca.pem")
	if err := writePEM(c.CAFile, "CERTIFICATE", caDER); err != nil {
		return err
	}
	leaf := func(name string, serial int64, usage []x509.ExtKeyUsage, ips []net.IP, dns []string) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: usage, IPAddresses: ips, DNSNames: dns,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		if err := writePEM(filepath.Join(c.Dir, name+".pem"), "CERTIFICATE", der); err != nil {
			return err
		}
		return writePEM(filepath.Join(c.Dir, name+"-key.pem"), "EC PRIVATE KEY", kder)
	}
	if err := leaf("server", 2, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, []net.IP{net.IPv4(127, 0, 0, 1)}, []string{"localhost"}); err != nil {
		return err
	}
	if err := leaf("client", 3, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, nil, nil); err != nil {
		return err
	}
	c.CertFile, c.KeyFile = filepath.Join(c.Dir, "client.pem"), filepath.Join(c.Dir, "client-key.pem")
	return nil
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
