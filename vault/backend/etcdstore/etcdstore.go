// Package etcdstore is the etcd backend: a vault's sealed envelopes kept in
// an etcd cluster that many hosts share, under a key prefix, beside the
// vault's shared records (its id and key-source state). docs/FORMAT.md,
// "The etcd backend", specifies the keys; docs/FLEET.md says how to set a
// cluster up.
//
// Each object is two etcd keys written in one transaction: <prefix>obj/<id>
// holds the envelope, <prefix>hdr/<id> its length and its header, so that
// List reads headers and never a value. Writes are transactions; those the
// vault seals (PutGuarded) compare the revision of the key-source record,
// so an envelope sealed under a key another host has just replaced is
// refused, and the vault seals it again under the new key. Every call has a
// deadline (Options.Timeout, 5 s by default); a cluster that does not
// answer by then is an error wrapping backend.ErrUnreachable that names the
// endpoints.
//
// The package links the official etcd client (go.etcd.io/etcd/client/v3),
// whose package initialisation costs about 20 ms: only palyra-extra links
// it (docs/PERFORMANCE.md, "Start-up").
package etcdstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/internal/fsutil"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/etcdconf"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	grpcbackoff "google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// MaxBlobSize is the largest envelope Put accepts: 1 MiB, under etcd's
// default request limit of 1.5 MiB with room for the header key.
const MaxBlobSize = 1 << 20

// Sub-prefixes below the vault's prefix.
const (
	objDir  = "obj/"
	hdrDir  = "hdr/"
	metaDir = "meta/"
	lockDir = "lock/"
)

// reconnectMax is the longest wait between two attempts to connect to a
// member that does not answer.
const reconnectMax = 2 * time.Second

// Options say how to reach the cluster.
type Options struct {
	// Endpoints are the members' client URLs.
	Endpoints []string
	// Prefix starts every key of the vault (etcdconf.CheckPrefix).
	Prefix string
	// TLS is the client TLS configuration; nil for http:// endpoints.
	TLS *tls.Config
	// User and Password authenticate to etcd; empty User means none.
	User     string
	Password string
	// Timeout is the deadline of every call; zero means
	// etcdconf.DefaultTimeout.
	Timeout time.Duration
	// LockTTL is the time to live of a lock's lease (Lock), rounded up to
	// whole seconds; zero means DefaultLockTTL.
	LockTTL time.Duration
}

// Store is an open etcd backend. It is safe for concurrent use.
type Store struct {
	cli     *clientv3.Client
	opts    Options
	timeout time.Duration
	lockTTL time.Duration
}

// New connects to the cluster. With a user it authenticates, which is the
// first round trip and fails within the deadline when no member answers.
func New(ctx context.Context, o Options) (*Store, error) {
	if err := etcdconf.CheckPrefix(o.Prefix); err != nil {
		return nil, err
	}
	if len(o.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	if o.Timeout <= 0 {
		o.Timeout = etcdconf.DefaultTimeout
	}
	if o.LockTTL <= 0 {
		o.LockTTL = DefaultLockTTL
	}
	s := &Store{opts: o, timeout: o.Timeout, lockTTL: o.LockTTL}
	cfg := clientv3.Config{
		Endpoints:   o.Endpoints,
		TLS:         o.TLS,
		Username:    o.User,
		Password:    o.Password,
		DialTimeout: o.Timeout,
		Logger:      zap.NewNop(),
		// gRPC's default reconnection backoff grows to two minutes: a
		// long-lived handle (a daemon's) idle through an outage would stay
		// cut off that long after the cluster is back. Capped at
		// reconnectMax, it tries again at least that often.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           grpcbackoff.Config{BaseDelay: 250 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: reconnectMax},
			MinConnectTimeout: o.Timeout,
		})},
	}
	if o.User != "" {
		cctx, cancel := context.WithTimeout(ctx, o.Timeout)
		defer cancel()
		cfg.Context = cctx
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		return nil, s.fail("connecting", err)
	}
	s.cli = cli
	return s, nil
}

// Open opens the backend of the vault at root from its settings file
// (package etcdconf). password supplies the etcd user's password when the
// settings name no password file ($PALYRA_ETCD_PASSWORD, a prompt: the
// program decides); nil means there is no other source.
func Open(ctx context.Context, root string, password func(user string) ([]byte, error)) (*Store, error) {
	st, err := etcdconf.Read(root)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", backend.ErrUnavailable, err)
	}
	return OpenSettings(ctx, st, password)
}

// OpenSettings opens the backend the settings describe (see Open).
func OpenSettings(ctx context.Context, st *etcdconf.Settings, password func(user string) ([]byte, error)) (*Store, error) {
	o := Options{Endpoints: st.Endpoints, Prefix: st.Prefix, User: st.User, Timeout: st.Deadline()}
	if st.TLS() {
		tc, err := tlsConfig(st)
		if err != nil {
			return nil, err
		}
		o.TLS = tc
	}
	if st.User != "" {
		pw, err := userPassword(st, password)
		if err != nil {
			return nil, err
		}
		o.Password = pw
	}
	return New(ctx, o)
}

// userPassword reads the etcd user's password: the settings' password
// file (its first line), else password() (the caller's: the environment,
// a prompt). The backend reads no environment variable.
func userPassword(st *etcdconf.Settings, password func(string) ([]byte, error)) (string, error) {
	if st.PasswordFile != "" {
		if err := fsutil.CheckPrivateFile(st.PasswordFile); err != nil {
			return "", fmt.Errorf("%w: etcd password file: %w", backend.ErrPermission, err)
		}
		data, err := fsutil.ReadFileLimited(st.PasswordFile, 4096)
		if err != nil {
			return "", fmt.Errorf("reading the etcd password file: %w", err)
		}
		defer clear(data)
		line, _, _ := strings.Cut(string(data), "\n")
		return strings.TrimSuffix(line, "\r"), nil
	}
	if password != nil {
		pw, err := password(st.User)
		if err != nil {
			return "", err
		}
		defer clear(pw)
		return string(pw), nil
	}
	return "", fmt.Errorf("%w: etcd user %q needs a password: name a file with --etcd-password-file at init, or set $%s", backend.ErrPermission, st.User, etcdconf.EnvPassword)
}

func tlsConfig(st *etcdconf.Settings) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if st.CAFile != "" {
		pem, err := fsutil.ReadFileLimited(st.CAFile, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("reading the etcd CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("etcd CA file %s holds no PEM certificate", st.CAFile)
		}
		tc.RootCAs = pool
	}
	if st.CertFile != "" {
		if err := fsutil.CheckPrivateFile(st.KeyFile); err != nil {
			return nil, fmt.Errorf("%w: etcd client key: %w", backend.ErrPermission, err)
		}
		cert, err := tls.LoadX509KeyPair(st.CertFile, st.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading the etcd client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Kind reports backend.KindEtcd.
func (s *Store) Kind() backend.Kind { return backend.KindEtcd }

// MaxBlobSize reports MaxBlobSize.
func (s *Store) MaxBlobSize() int { return MaxBlobSize }

// Describe names the endpoints, the prefix, TLS and the user.
func (s *Store) Describe() string {
	tlsWord := "no TLS"
	if s.opts.TLS != nil {
		tlsWord = "TLS"
	}
	user := "no etcd user"
	if s.opts.User != "" {
		user = "user " + s.opts.User
	}
	return fmt.Sprintf("etcd at %s, prefix %s, %s, %s, deadline %s", strings.Join(s.opts.Endpoints, ","), s.opts.Prefix, tlsWord, user, s.timeout)
}

// Endpoints returns the endpoints the store was opened with.
func (s *Store) Endpoints() []string { return s.opts.Endpoints }

// Prefix returns the vault's key prefix.
func (s *Store) Prefix() string { return s.opts.Prefix }

// Client returns the etcd client, for the lock and health checks.
func (s *Store) Client() *clientv3.Client { return s.cli }

func (s *Store) objKey(id backend.ObjectID) string { return s.opts.Prefix + objDir + string(id) }
func (s *Store) hdrKey(id backend.ObjectID) string { return s.opts.Prefix + hdrDir + string(id) }
func (s *Store) metaKey(name string) string        { return s.opts.Prefix + metaDir + name }

// call runs f with the store's deadline.
func (s *Store) call(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return f(ctx)
}

// fail maps an etcd client error onto the backend's sentinels, naming
// what failed and the endpoints.
func (s *Store) fail(what string, err error) error {
	eps := strings.Join(s.opts.Endpoints, ",")
	switch {
	case errors.Is(err, rpctypes.ErrPermissionDenied), errors.Is(err, rpctypes.ErrGRPCPermissionDenied),
		errors.Is(err, rpctypes.ErrAuthFailed), errors.Is(err, rpctypes.ErrGRPCAuthFailed),
		errors.Is(err, rpctypes.ErrUserEmpty), errors.Is(err, rpctypes.ErrGRPCUserEmpty),
		errors.Is(err, rpctypes.ErrInvalidAuthToken), errors.Is(err, rpctypes.ErrGRPCInvalidAuthToken),
		status.Code(err) == codes.PermissionDenied, status.Code(err) == codes.Unauthenticated:
		return fmt.Errorf("%w: etcd at %s refused %s under prefix %s for user %q: %v", backend.ErrPermission, eps, what, s.opts.Prefix, s.opts.User, err)
	case errors.Is(err, rpctypes.ErrLeaderChanged), errors.Is(err, rpctypes.ErrGRPCLeaderChanged):
		return fmt.Errorf("%w: etcd at %s was electing a new leader during %s; try again: %v", backend.ErrUnreachable, eps, what, err)
	case errors.Is(err, context.DeadlineExceeded), status.Code(err) == codes.DeadlineExceeded,
		status.Code(err) == codes.Unavailable, errors.Is(err, rpctypes.ErrNoLeader), errors.Is(err, rpctypes.ErrGRPCNoLeader),
		errors.Is(err, rpctypes.ErrTimeout), errors.Is(err, rpctypes.ErrGRPCTimeout):
		return fmt.Errorf("%w: etcd at %s did not answer %s within %s: %v", backend.ErrUnreachable, eps, what, s.timeout, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("etcd %s: %w", what, err)
	}
	return fmt.Errorf("%w: etcd at %s: %s: %v", backend.ErrUnavailable, eps, what, err)
}

// headerRecord returns the value of an object's header key: the blob's
// length as a uvarint, then the envelope header the blob starts with (the
// first envelope.MaxHeaderSize bytes of a blob that is no envelope).
func headerRecord(blob []byte) []byte {
	n := min(len(blob), envelope.MaxHeaderSize)
	if _, hn, err := envelope.ParseHeader(blob); err == nil {
		n = hn
	}
	out := binary.AppendUvarint(make([]byte, 0, binary.MaxVarintLen64+n), uint64(len(blob)))
	return append(out, blob[:n]...)
}

// parseHeaderRecord splits a header key's value into the blob's length and
// the prefix it holds.
func parseHeaderRecord(v []byte) (int, []byte, bool) {
	n, k := binary.Uvarint(v)
	if k <= 0 || n > MaxBlobSize || int(n) < len(v)-k {
		return 0, nil, false
	}
	return int(n), v[k:], true
}

func (s *Store) putOps(id backend.ObjectID, blob []byte) []clientv3.Op {
	return []clientv3.Op{
		clientv3.OpPut(s.objKey(id), string(blob)),
		clientv3.OpPut(s.hdrKey(id), string(headerRecord(blob))),
	}
}

func (s *Store) checkPut(id backend.ObjectID, blob []byte) error {
	if err := backend.CheckID(id); err != nil {
		return err
	}
	if len(blob) > MaxBlobSize {
		return fmt.Errorf("%w: %d bytes, etcd backend limit %d", backend.ErrTooLarge, len(blob), MaxBlobSize)
	}
	return nil
}

// Put stores blob and its header in one transaction.
func (s *Store) Put(ctx context.Context, id backend.ObjectID, blob []byte) error {
	if err := s.checkPut(id, blob); err != nil {
		return err
	}
	err := s.call(ctx, func(ctx context.Context) error {
		_, err := s.cli.Txn(ctx).Then(s.putOps(id, blob)...).Commit()
		return err
	})
	if err != nil {
		return s.fail("storing object "+string(id), err)
	}
	return nil
}

// PutGuarded is Put in a transaction that first compares the revision of
// record guard with rev (backend.Shared).
func (s *Store) PutGuarded(ctx context.Context, id backend.ObjectID, blob []byte, guard string, rev int64) error {
	if err := s.checkPut(id, blob); err != nil {
		return err
	}
	if err := checkRecordName(guard); err != nil {
		return err
	}
	var ok bool
	err := s.call(ctx, func(ctx context.Context) error {
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(s.metaKey(guard)), "=", rev)).
			Then(s.putOps(id, blob)...).Commit()
		if err == nil {
			ok = resp.Succeeded
		}
		return err
	})
	if err != nil {
		return s.fail("storing object "+string(id), err)
	}
	if !ok {
		return fmt.Errorf("%w: storing object %s: record %s is no longer at revision %d", backend.ErrConflict, id, guard, rev)
	}
	return nil
}

// PutIfAt is PutGuarded that also compares the revision of the object's
// header key with objRev (0: absent); when a comparison fails, the same
// transaction reads the header key (backend.ObjectGuarded).
func (s *Store) PutIfAt(ctx context.Context, id backend.ObjectID, blob []byte, guard string, rev, objRev int64, n int) (int64, []byte, int64, error) {
	if err := s.checkPut(id, blob); err != nil {
		return 0, nil, 0, err
	}
	if err := checkRecordName(guard); err != nil {
		return 0, nil, 0, err
	}
	var ok bool
	var newRev, curRev int64
	var cur []byte
	err := s.call(ctx, func(ctx context.Context) error {
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(s.metaKey(guard)), "=", rev),
				clientv3.Compare(clientv3.ModRevision(s.hdrKey(id)), "=", objRev)).
			Then(s.putOps(id, blob)...).
			Else(clientv3.OpGet(s.hdrKey(id))).Commit()
		if err != nil {
			return err
		}
		ok, newRev = resp.Succeeded, resp.Header.Revision
		if !ok {
			if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
				cur, curRev = kvs[0].Value, kvs[0].ModRevision
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, 0, s.fail("storing object "+string(id), err)
	}
	if ok {
		return newRev, nil, 0, nil
	}
	conflict := fmt.Errorf("%w: storing object %s: record %s is no longer at revision %d, or the object no longer at revision %d", backend.ErrConflict, id, guard, rev, objRev)
	if curRev == 0 {
		return 0, nil, 0, conflict
	}
	if _, p, okh := parseHeaderRecord(cur); okh {
		return 0, append([]byte{}, p[:min(n, len(p))]...), curRev, conflict
	}
	return 0, nil, curRev, conflict
}

// Get returns the envelope stored under id.
func (s *Store) Get(ctx context.Context, id backend.ObjectID) ([]byte, error) {
	out, _, err := s.GetRev(ctx, id)
	return out, err
}

// GetRev returns the envelope stored under id and its revision, which is
// its header key's too: both are written in one transaction
// (backend.ObjectGuarded).
func (s *Store) GetRev(ctx context.Context, id backend.ObjectID) ([]byte, int64, error) {
	if err := backend.CheckID(id); err != nil {
		return nil, 0, err
	}
	var out []byte
	var rev int64
	err := s.call(ctx, func(ctx context.Context) error {
		resp, err := s.cli.Get(ctx, s.objKey(id))
		if err == nil && len(resp.Kvs) == 1 {
			out, rev = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
		}
		return err
	})
	if err != nil {
		return nil, 0, s.fail("reading object "+string(id), err)
	}
	if rev == 0 {
		return nil, 0, fmt.Errorf("%w: %s", backend.ErrNotFound, id)
	}
	if out == nil {
		out = []byte{}
	}
	return out, rev, nil
}

// GetPrefix returns the first n bytes of the blob, from its header key
// when that holds them.
func (s *Store) GetPrefix(ctx context.Context, id backend.ObjectID, n int) ([]byte, error) {
	if err := backend.CheckID(id); err != nil {
		return nil, err
	}
	var v []byte
	found := false
	err := s.call(ctx, func(ctx context.Context) error {
		resp, err := s.cli.Get(ctx, s.hdrKey(id))
		if err == nil && len(resp.Kvs) == 1 {
			v, found = resp.Kvs[0].Value, true
		}
		return err
	})
	if err != nil {
		return nil, s.fail("reading the header of object "+string(id), err)
	}
	if !found {
		return nil, fmt.Errorf("%w: %s", backend.ErrNotFound, id)
	}
	total, p, ok := parseHeaderRecord(v)
	if ok && (n <= len(p) || len(p) == total) {
		return append([]byte{}, p[:min(n, len(p))]...), nil
	}
	blob, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return blob[:min(n, len(blob))], nil
}

// Delete removes the object and its header in one transaction.
func (s *Store) Delete(ctx context.Context, id backend.ObjectID) (bool, error) {
	if err := backend.CheckID(id); err != nil {
		return false, err
	}
	existed := false
	err := s.call(ctx, func(ctx context.Context) error {
		resp, err := s.cli.Txn(ctx).Then(clientv3.OpDelete(s.objKey(id)), clientv3.OpDelete(s.hdrKey(id))).Commit()
		if err == nil {
			existed = resp.Responses[0].GetResponseDeleteRange().Deleted > 0
		}
		return err
	})
	if err != nil {
		return false, s.fail("deleting object "+string(id), err)
	}
	return existed, nil
}

// List returns the ids of every object, reading keys only.
func (s *Store) List(ctx context.Context) ([]backend.ObjectID, error) {
	var ids []backend.ObjectID
	dir := s.opts.Prefix + hdrDir
	err := s.call(ctx, func(ctx context.Context) error {
		resp, err := s.cli.Get(ctx, dir, clientv3.WithPrefix(), clientv3.WithKeysOnly())
		if err != nil {
			return err
		}
		ids = make([]backend.ObjectID, 0, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			if id := backend.ObjectID(strings.TrimPrefix(string(kv.Key), dir)); id.Valid() {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("listing objects", err)
	}
	return ids, nil
}

// ListPrefixes returns every object's header from the header keys, in one
// range read that never touches an envelope (backend.HeaderLister). It
// keeps no cache: q.CacheKey is ignored.
func (s *Store) ListPrefixes(ctx context.Context, q backend.PrefixQuery) ([]backend.Prefix, error) {
	var out []backend.Prefix
	var short []int // objects whose header key holds fewer than q.Max bytes of a longer blob
	dir := s.opts.Prefix + hdrDir
	err := s.call(ctx, func(ctx context.Context) error {
		resp, err := s.cli.Get(ctx, dir, clientv3.WithPrefix())
		if err != nil {
			return err
		}
		out = make([]backend.Prefix, 0, len(resp.Kvs))
		for _, kv := range resp.Kvs {
			id := backend.ObjectID(strings.TrimPrefix(string(kv.Key), dir))
			if !id.Valid() {
				continue
			}
			total, p, ok := parseHeaderRecord(kv.Value)
			if !ok {
				out = append(out, backend.Prefix{ID: id, Err: fmt.Errorf("%w: header key of object %s is malformed", backend.ErrUnavailable, id)})
				continue
			}
			p = p[:min(len(p), q.Max)]
			// The header key holds the whole envelope header; a caller
			// that keeps no more than a whole header needs nothing else.
			whole := q.Keep != nil && headerComplete(p) && q.Keep(p) == len(p)
			if len(p) < q.Max && len(p) < total && !whole {
				short = append(short, len(out))
			}
			out = append(out, backend.Prefix{ID: id, Data: p})
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("listing object headers", err)
	}
	for _, i := range short {
		b, err := s.GetPrefix(ctx, out[i].ID, q.Max)
		out[i].Data, out[i].Err = b, err
	}
	for i := range out {
		if out[i].Err == nil && q.Keep != nil {
			if k := q.Keep(out[i].Data); k >= 0 && k <= len(out[i].Data) {
				out[i].Data = out[i].Data[:k]
			}
		}
		if out[i].Err == nil {
			out[i].Data = append([]byte{}, out[i].Data...)
		}
	}
	return out, nil
}

// headerComplete reports whether p is exactly a whole envelope header.
func headerComplete(p []byte) bool {
	_, n, err := envelope.ParseHeader(p)
	return err == nil && n == len(p)
}

// checkRecordName refuses a record name that is not one of the vault's.
func checkRecordName(name string) error {
	if name != backend.RecordVaultID && name != backend.RecordKeySource {
		return fmt.Errorf("etcd: unknown record %q", name)
	}
	return nil
}

// ReadRecord returns a shared record and its revision (backend.Shared).
func (s *Store) ReadRecord(ctx context.Context, name string) ([]byte, int64, error) {
	if err := checkRecordName(name); err != nil {
		return nil, 0, err
	}
	var data []byte
	var rev int64
	err := s.call(ctx, func(ctx context.Context) error {
		resp, err := s.cli.Get(ctx, s.metaKey(name))
		if err == nil && len(resp.Kvs) == 1 {
			data, rev = resp.Kvs[0].Value, resp.Kvs[0].ModRevision
		}
		return err
	})
	if err != nil {
		return nil, 0, s.fail("reading "+name, err)
	}
	if rev == 0 {
		return nil, 0, fmt.Errorf("%w: record %s", backend.ErrNotFound, name)
	}
	return data, rev, nil
}

// WriteRecord replaces a shared record if its revision is still rev
// (backend.Shared).
func (s *Store) WriteRecord(ctx context.Context, name string, data []byte, rev int64) (int64, error) {
	if err := checkRecordName(name); err != nil {
		return 0, err
	}
	var newRev int64
	ok := false
	err := s.call(ctx, func(ctx context.Context) error {
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(s.metaKey(name)), "=", rev)).
			Then(clientv3.OpPut(s.metaKey(name), string(data))).Commit()
		if err == nil {
			ok, newRev = resp.Succeeded, resp.Header.Revision
		}
		return err
	})
	if err != nil {
		return 0, s.fail("writing "+name, err)
	}
	if !ok {
		return 0, fmt.Errorf("%w: record %s is no longer at revision %d (another host changed it)", backend.ErrConflict, name, rev)
	}
	return newRev, nil
}

// Health checks every endpoint (its status, within the deadline), then
// reading and writing under the prefix as the configured user: it writes
// and deletes the key <prefix>lock/doctor (backend.HealthChecker).
func (s *Store) Health(ctx context.Context) error {
	var problems []string
	downMembers := 0
	for _, ep := range s.opts.Endpoints {
		err := s.call(ctx, func(ctx context.Context) error {
			_, err := s.cli.Status(ctx, ep)
			return err
		})
		if err != nil {
			problems = append(problems, fmt.Sprintf("member %s: %v", ep, err))
			downMembers++
		}
	}
	probe := s.opts.Prefix + lockDir + "doctor"
	err := s.call(ctx, func(ctx context.Context) error {
		if _, err := s.cli.Get(ctx, s.opts.Prefix, clientv3.WithPrefix(), clientv3.WithCountOnly()); err != nil {
			return err
		}
		if _, err := s.cli.Put(ctx, probe, "x"); err != nil {
			return err
		}
		_, err := s.cli.Delete(ctx, probe)
		return err
	})
	if err != nil {
		problems = append(problems, s.fail("reading and writing under the prefix", err).Error())
	}
	if len(problems) == 0 {
		return nil
	}
	sentinel := backend.ErrUnavailable
	switch {
	case err != nil && errors.Is(s.fail("", err), backend.ErrPermission):
		sentinel = backend.ErrPermission
	case downMembers == len(s.opts.Endpoints), err != nil && errors.Is(s.fail("", err), backend.ErrUnreachable):
		sentinel = backend.ErrUnreachable
	}
	return fmt.Errorf("%w: %s", sentinel, strings.Join(problems, "; "))
}

// Close closes the client.
func (s *Store) Close() error { return s.cli.Close() }
