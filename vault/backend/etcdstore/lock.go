package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	"github.com/palyra/palyra-vault/vault/backend"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// DefaultLockTTL is the time to live of a lock's lease: a holder killed
// without releasing its lock holds it at most this long.
const DefaultLockTTL = 10 * time.Second

// heldLock is a lock held on a lease (Store.Lock).
type heldLock struct {
	s      *Store
	sess   *concurrency.Session
	key    string
	holder string
	once   sync.Once
	err    error
}

// Lost is closed when the lease is no longer kept alive.
func (l *heldLock) Lost() <-chan struct{} { return l.sess.Done() }

// Holder names this holder: the host name and process id.
func (l *heldLock) Holder() string { return l.holder }

// Unlock deletes the lock's key and revokes its lease (which deletes the
// key too, should the delete not reach the cluster).
func (l *heldLock) Unlock(ctx context.Context) error {
	l.once.Do(func() {
		err := l.s.call(ctx, func(ctx context.Context) error {
			_, err := l.s.cli.Txn(ctx).
				If(clientv3.Compare(clientv3.LeaseValue(l.key), "=", l.sess.Lease())).
				Then(clientv3.OpDelete(l.key)).Commit()
			return err
		})
		cerr := l.sess.Close()
		if err != nil {
			l.err = l.s.fail("releasing lock "+l.key, err)
		} else if cerr != nil && !errors.Is(cerr, context.DeadlineExceeded) {
			l.err = l.s.fail("revoking the lease of lock "+l.key, cerr)
		}
	})
	return l.err
}

// holderName is how this process names itself in a lock's value.
func holderName() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown host"
	}
	return fmt.Sprintf("host %s pid %d", host, os.Getpid())
}

// Lock takes the lock called name: the key <prefix>lock/<name>, created
// only when absent, bound to a lease of Options.LockTTL that a
// concurrency.Session keeps alive (backend.Locker). While another holds
// it, Lock waits for its deletion (an Unlock, or the expiry of a dead
// holder's lease) until ctx is done, and then fails naming the holder.
// Each round trip has the store's deadline.
func (s *Store) Lock(ctx context.Context, name string) (backend.HeldLock, error) {
	if name != backend.LockKeyState {
		return nil, fmt.Errorf("etcd: unknown lock %q", name)
	}
	key := s.opts.Prefix + lockDir + name
	ttl := int64(math.Ceil(s.lockTTL.Seconds()))
	var lease clientv3.LeaseID
	err := s.call(ctx, func(ctx context.Context) error {
		resp, err := s.cli.Grant(ctx, ttl)
		if err == nil {
			lease = resp.ID
		}
		return err
	})
	if err != nil {
		return nil, s.fail("granting the lease of lock "+key, err)
	}
	sess, err := concurrency.NewSession(s.cli, concurrency.WithLease(lease), concurrency.WithTTL(int(ttl)), concurrency.WithContext(context.Background()))
	if err != nil {
		return nil, s.fail("keeping the lease of lock "+key+" alive", err)
	}
	l := &heldLock{s: s, sess: sess, key: key, holder: holderName()}
	give := func(err error) (backend.HeldLock, error) {
		_ = sess.Close()
		return nil, err
	}
	for {
		var got bool
		var other string
		var rev int64
		err := s.call(ctx, func(ctx context.Context) error {
			resp, err := s.cli.Txn(ctx).
				If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
				Then(clientv3.OpPut(key, l.holder, clientv3.WithLease(lease))).
				Else(clientv3.OpGet(key)).Commit()
			if err != nil {
				return err
			}
			got, rev = resp.Succeeded, resp.Header.Revision
			if !got {
				if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) == 1 {
					other = string(kvs[0].Value)
				}
			}
			return nil
		})
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				return give(fmt.Errorf("waiting for lock %s in etcd: %w", key, cerr))
			}
			return give(s.fail("taking lock "+key, err))
		}
		if got {
			return l, nil
		}
		if other == "" {
			continue // released between the compare and the read
		}
		if err := s.waitDeleted(ctx, key, rev, sess); err != nil {
			return give(fmt.Errorf("waiting for lock %s in etcd, held by %s: %w", key, other, err))
		}
	}
}

// waitDeleted waits until key is deleted after revision rev, ctx is done
// (its error) or the session's lease is lost.
func (s *Store) waitDeleted(ctx context.Context, key string, rev int64, sess *concurrency.Session) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	wch := s.cli.Watch(wctx, key, clientv3.WithRev(rev+1), clientv3.WithFilterPut())
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sess.Done():
			return errors.New("this process's lease expired while it waited")
		case resp, ok := <-wch:
			if !ok {
				if err := ctx.Err(); err != nil {
					return err
				}
				return nil // the watch ended (say, a lost leader): try again
			}
			if err := resp.Err(); err != nil {
				return nil // compacted or cancelled: try again
			}
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					return nil
				}
			}
		}
	}
}
