// Package etcdconf reads and writes the connection settings of a vault kept
// in etcd: the file etcd.json beside backend.kind in each host's vault root
// (docs/FORMAT.md, "The etcd backend"). The settings hold no secret (the
// password stays in its own file or in $PALYRA_ETCD_PASSWORD) and they are
// per host: everything the hosts share lives in etcd under the prefix.
//
// The package is light on purpose: the palyra command links it (to write
// the file at "secrets init" and to tell an etcd vault) without linking
// the etcd client, which only palyra-extra does (package etcdstore).
package etcdconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/secret"
)

// FileName is the settings file's name in the vault root.
const FileName = "etcd.json"

// EnvPassword holds the etcd user's password when the settings name no
// password file. A password never comes from the command line.
const EnvPassword = secret.EnvEtcdPassword

// format is the settings file's format line.
const format = "palyra-vault etcd v1"

// Limits of the settings.
const (
	// DefaultTimeout is the deadline of every etcd call unless the
	// settings say otherwise.
	DefaultTimeout = 5 * time.Second
	// MinTimeout and MaxTimeout bound a configured deadline.
	MinTimeout = 100 * time.Millisecond
	MaxTimeout = 5 * time.Minute
	// MaxPrefixLen bounds the key prefix, in bytes.
	MaxPrefixLen = 256
	// MaxEndpoints bounds the number of endpoints.
	MaxEndpoints = 16
	maxFileSize  = 16 << 10
)

// Settings say how this host reaches the vault's etcd cluster.
type Settings struct {
	Format string `json:"format"`
	// Endpoints are the members' client URLs: https://host:port (TLS) or
	// http://host:port.
	Endpoints []string `json:"endpoints"`
	// Prefix is the key prefix every key of the vault starts with: it
	// starts and ends with "/".
	Prefix string `json:"prefix"`
	// CAFile is the PEM file of the CA that signed the members'
	// certificates; empty means the system's roots.
	CAFile string `json:"ca_file,omitempty"`
	// CertFile and KeyFile are this host's client certificate and key,
	// both or neither.
	CertFile string `json:"cert_file,omitempty"`
	KeyFile  string `json:"key_file,omitempty"`
	// User is the etcd user; empty means no etcd authentication.
	User string `json:"user,omitempty"`
	// PasswordFile holds the user's password (its first line); empty
	// means $PALYRA_ETCD_PASSWORD, else a prompt on the terminal.
	PasswordFile string `json:"password_file,omitempty"`
	// Timeout is the deadline of every call, as a Go duration ("5s");
	// empty means DefaultTimeout.
	Timeout string `json:"timeout,omitempty"`
}

// TLS reports whether the settings use TLS (https endpoints).
func (s *Settings) TLS() bool {
	return len(s.Endpoints) > 0 && strings.HasPrefix(s.Endpoints[0], "https://")
}

// Deadline returns the deadline of every call.
func (s *Settings) Deadline() time.Duration {
	if s.Timeout == "" {
		return DefaultTimeout
	}
	d, _ := time.ParseDuration(s.Timeout) // checked by Check
	return d
}

// Check returns an error naming the field and the rule when the settings
// are not valid. Relative file names are refused: the settings are read by
// commands run from any directory.
func (s *Settings) Check() error {
	if len(s.Endpoints) == 0 {
		return errors.New("etcd endpoints: at least one is needed (--etcd-endpoints https://host:2379,...)")
	}
	if len(s.Endpoints) > MaxEndpoints {
		return fmt.Errorf("etcd endpoints: %d given, at most %d", len(s.Endpoints), MaxEndpoints)
	}
	scheme := ""
	for _, ep := range s.Endpoints {
		sch, hostport, ok := strings.Cut(ep, "://")
		if !ok || (sch != "https" && sch != "http") {
			return fmt.Errorf("etcd endpoint %q: must be https://host:port or http://host:port", secret.Excerpt(ep))
		}
		if scheme != "" && sch != scheme {
			return errors.New("etcd endpoints: mix https and http; use one scheme for every member")
		}
		scheme = sch
		if _, port, err := net.SplitHostPort(hostport); err != nil || port == "" || strings.ContainsAny(hostport, "/?#@") {
			return fmt.Errorf("etcd endpoint %q: must be https://host:port or http://host:port", secret.Excerpt(ep))
		}
	}
	if err := CheckPrefix(s.Prefix); err != nil {
		return err
	}
	if (s.CertFile == "") != (s.KeyFile == "") {
		return errors.New("etcd client certificate: give both --etcd-cert and --etcd-key, or neither")
	}
	if scheme == "http" && (s.CAFile != "" || s.CertFile != "") {
		return errors.New("etcd TLS files given for http:// endpoints: use https:// endpoints with --etcd-ca, --etcd-cert and --etcd-key")
	}
	for _, f := range []struct{ flag, path string }{{"--etcd-ca", s.CAFile}, {"--etcd-cert", s.CertFile}, {"--etcd-key", s.KeyFile}, {"--etcd-password-file", s.PasswordFile}} {
		if f.path != "" && !filepath.IsAbs(f.path) {
			return fmt.Errorf("%s %q: must be an absolute path", f.flag, secret.Excerpt(f.path))
		}
	}
	if s.PasswordFile != "" && s.User == "" {
		return errors.New("--etcd-password-file without --etcd-user: the password is the etcd user's")
	}
	if len(s.User) > 128 || strings.ContainsFunc(s.User, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return fmt.Errorf("etcd user %q: at most 128 bytes, no spaces or control characters", secret.Excerpt(s.User))
	}
	if s.Timeout != "" {
		d, err := time.ParseDuration(s.Timeout)
		if err != nil || d < MinTimeout || d > MaxTimeout {
			return fmt.Errorf("etcd timeout %q: must be a duration from %s to %s", secret.Excerpt(s.Timeout), MinTimeout, MaxTimeout)
		}
	}
	return nil
}

// CheckPrefix returns an error naming the rule when p is not a valid key
// prefix: 2 to MaxPrefixLen bytes of printable ASCII, starting and ending
// with "/", no "//".
func CheckPrefix(p string) error {
	ok := len(p) >= 2 && len(p) <= MaxPrefixLen && p[0] == '/' && p[len(p)-1] == '/' && !strings.Contains(p, "//")
	for i := 0; ok && i < len(p); i++ {
		ok = p[i] > 0x20 && p[i] < 0x7f
	}
	if !ok {
		return fmt.Errorf("etcd prefix %q: must start and end with \"/\", hold no \"//\", and be at most %d bytes of printable ASCII (for example /palyra/team-a/)", secret.Excerpt(p), MaxPrefixLen)
	}
	return nil
}

// Path returns the settings file of the vault at root.
func Path(root string) string { return filepath.Join(root, FileName) }

// Read reads and checks the settings of the vault at root. A file that is
// unsafe (fsutil.CheckPrivateFile), too large or invalid is an error naming
// it; a missing one wraps fs.ErrNotExist.
func Read(root string) (*Settings, error) {
	path := Path(root)
	if err := fsutil.CheckPrivateFile(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("etcd settings %s: %w: run \"palyra secrets init --backend etcd --etcd-endpoints ... --etcd-prefix ...\" on this host", path, err)
		}
		return nil, fmt.Errorf("etcd settings %s: %w", path, err)
	}
	data, err := fsutil.ReadFileLimited(path, maxFileSize)
	if err != nil {
		return nil, fmt.Errorf("reading etcd settings: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Settings
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("etcd settings %s are not valid: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("etcd settings %s have data after their JSON object", path)
	}
	if s.Format != format {
		return nil, fmt.Errorf("etcd settings %s: format %q is not %q (written by a newer palyra?)", path, secret.Excerpt(s.Format), format)
	}
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("etcd settings %s: %w", path, err)
	}
	return &s, nil
}

// Write checks s and replaces the settings file of the vault at root
// atomically and durably, mode 0600. The vault root must exist.
func Write(root string, s *Settings) error {
	s.Format = format
	if err := s.Check(); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("writing etcd settings: %w", err)
	}
	if err := fsutil.WriteFileAtomic(Path(root), append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing etcd settings: %w", err)
	}
	return nil
}
