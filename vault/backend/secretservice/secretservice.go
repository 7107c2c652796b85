// Package secretservice is the linux_secret_service backend: it keeps each
// sealed envelope as one item in the default collection of the freedesktop
// Secret Service (gnome-keyring, KeePassXC and others), speaking D-Bus
// directly through github.com/godbus/dbus/v5, with no helper process.
//
// Values cross the bus in an encrypted transport session
// (dh-ietf1024-sha256-aes128-cbc-pkcs7); the plain session is used only when
// the service refuses that algorithm, and never when
// Options.RequireEncryption is set. Items carry the attributes
// xdg:schema=dev.palyra.vault and palyra-object-id=<object id> (plus
// palyra-vault=<vault id> when Options.Vault is set), and a label
// that shows only the start of the object id, so neither a keyring browser
// nor libsecret's secret-tool reveals a secret's scope or key. An item is
// readable with
//
//	secret-tool lookup xdg:schema dev.palyra.vault palyra-object-id obj_…
//
// Every D-Bus call is bounded by Options.CallTimeout, and waiting for an
// unlock prompt by Options.PromptTimeout, so no operation hangs on a stuck
// provider. Failures wrap backend.ErrUnavailable plus one of ErrNoService,
// ErrNoDefaultCollection, ErrLocked, ErrPromptDismissed, ErrTimeout or
// ErrFailed, and carry a hint (see Error).
//
// A Store outlives its provider: when gnome-keyring-daemon (or another
// provider) restarts, the new process knows nothing of the Store's
// transport session, and when the bus connection drops every call fails.
// On such a failure (dbus.ErrClosed, ServiceUnknown, NameHasNoOwner,
// Disconnected, UnknownObject, NoSuchObject, NoSession) the operation
// re-establishes the link once for all goroutines (dials the bus again if
// the connection is closed, opens a new transport session, never weaker
// than the old one, and resolves the default collection again; the old
// session key is wiped) and is retried once. Any other failure (locked,
// prompt dismissed, timeout) is returned as it is; a provider that is still
// down gives ErrNoService, and the next operation tries again.
//
// Search, apart from the backend, reads the items other programs keep in
// any collection of the service (zalando/go-keyring, Python's keyring,
// secret-tool), over the same kind of session, for importing them; it
// never changes an item and never shows a prompt.
//
// The package compiles on every platform; without a session bus (as on
// Windows and macOS) Open fails with ErrNoService.
package secretservice

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/palyra/palyra-vault/vault/backend"
)

const (
	// DefaultCallTimeout bounds each D-Bus call when Options.CallTimeout is
	// zero.
	DefaultCallTimeout = 5 * time.Second
	// DefaultPromptTimeout bounds the wait for an unlock prompt when
	// Options.PromptTimeout is zero. It is long enough for a person to type
	// a keyring password.
	DefaultPromptTimeout = 60 * time.Second

	// MaxBlobSize is the largest blob Put accepts: 64 KiB of secret plus
	// 1 KiB for the envelope's header and overhead (at most 782 bytes
	// today). gnome-keyring 42.1 accepts far more (16 MiB was measured to
	// work; 64 MiB exceeds D-Bus's 64 MiB array limit), but it rewrites and
	// re-encrypts the whole keyring file on every change: with one 1 MiB
	// item stored, a 1-byte Put took about 60 ms, with 16 MiB about 430 ms.
	// A keyring is no place for bulk data.
	MaxBlobSize = 64<<10 + 1<<10
)

// Options configure Open and Probe. The zero value is ready to use.
type Options struct {
	// Address is the D-Bus address of the session bus (SessionBusAddress
	// finds it in the environment). Empty means there is none: Open and
	// Probe fail with ErrNoService. No bus is ever launched.
	Address string
	// CallTimeout bounds every D-Bus call (and connecting); zero means
	// DefaultCallTimeout. The caller's context deadline applies as well.
	CallTimeout time.Duration
	// PromptTimeout bounds the wait for an unlock prompt to complete; zero
	// means DefaultPromptTimeout. A prompt that does not complete in time
	// is dismissed and reported as ErrPromptDismissed.
	PromptTimeout time.Duration
	// NoUnlock makes a locked default collection fail at once with
	// ErrLocked, instead of asking the service to unlock it (which may
	// show a password prompt on the user's desktop).
	NoUnlock bool
	// Vault, when set, files every item under this vault identifier (an
	// AttrVault attribute): two vaults of one user sharing the default
	// collection then never see, replace or list each other's objects.
	// Items written without it (Vault "") are a namespace of their own.
	Vault string
	// RequireEncryption makes Open fail with ErrFailed when the service
	// refuses the encrypted transport, instead of falling back to plain.
	RequireEncryption bool

	// forcePlain opens a plain session without trying encryption; tests
	// use it to exercise the fallback path against a service that
	// supports both.
	forcePlain bool
}

func (o Options) withDefaults() Options {
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.PromptTimeout <= 0 {
		o.PromptTimeout = DefaultPromptTimeout
	}
	return o
}

// Info describes an open Store, for `palyra backend info`.
type Info struct {
	// Service is the unique bus name of the provider that owns
	// org.freedesktop.secrets, e.g. ":1.3".
	Service string
	// Collection is the object path the default alias resolves to, e.g.
	// /org/freedesktop/secrets/collection/login.
	Collection string
	// Transport is the session algorithm: "dh-ietf1024-sha256-aes128-cbc-pkcs7"
	// or "plain".
	Transport string
	// Encrypted reports whether secret values are encrypted on the bus.
	Encrypted bool
}

// String renders the info on one line.
func (i Info) String() string {
	enc := "plain, values visible to bus eavesdroppers"
	if i.Encrypted {
		enc = "encrypted"
	}
	return fmt.Sprintf("collection %s of %s (%s), transport %s (%s)", i.Collection, serviceName, i.Service, i.Transport, enc)
}

// secret is the Secret struct of the API, D-Bus signature (oayays).
type secret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

// Store is the linux_secret_service backend. It holds one private bus
// connection and one transport session, and re-establishes them when the
// provider restarts or the connection drops (see do). It is safe for
// concurrent use.
type Store struct {
	opts Options

	// linkMu guards the link below: operations hold it for reading,
	// reconnect for writing. gen counts reconnects; broken is set while a
	// reconnect has failed.
	linkMu     sync.RWMutex
	gen        uint64
	broken     bool
	closed     bool
	conn       *dbus.Conn
	service    dbus.BusObject
	owner      string
	collection dbus.ObjectPath
	session    dbus.ObjectPath
	algorithm  string
	tr         transport

	unlockMu  sync.Mutex // one unlock prompt at a time
	closeOnce sync.Once
	closeErr  error
}

var _ backend.Backend = (*Store)(nil)

// Open connects to the session bus, checks that a Secret Service provider
// is there, opens a transport session (encrypted if the service allows) and
// resolves the default collection. It does not unlock the collection: the
// first operation that finds it locked does, unless Options.NoUnlock.
//
// It fails with an *Error wrapping backend.ErrUnavailable and ErrNoService
// (no bus, nothing owns org.freedesktop.secrets), ErrNoDefaultCollection,
// ErrTimeout or ErrFailed. The Store must be closed.
func Open(ctx context.Context, opts Options) (*Store, error) {
	s, err := dial(ctx, opts.withDefaults(), "opening")
	if err != nil {
		return nil, err
	}
	if err := s.resolveDefault(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// dial connects to the session bus, makes sure a provider owns
// org.freedesktop.secrets and opens a transport session. The Store it
// returns has no collection yet; it must be closed. op names what the
// caller is doing, for the errors of connecting.
func dial(ctx context.Context, opts Options, op string) (*Store, error) {
	addr, err := busAddress(opts.Address)
	if err != nil {
		return nil, newError(op, ErrNoService, err)
	}
	conn, err := connect(ctx, addr, opts.CallTimeout)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, newError(op, ErrTimeout, fmt.Errorf("connecting to session bus %q: %w", addr, err))
		}
		if errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("secret service: %s: %w", op, err)
		}
		return nil, newError(op, ErrNoService, fmt.Errorf("connecting to session bus %q: %w", addr, err))
	}
	s := &Store{opts: opts, conn: conn, service: conn.Object(serviceName, servicePath)}
	if err := s.ensureOwner(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	if err := s.openSession(ctx, opts.RequireEncryption); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// resolveDefault sets the Store's collection to the one the default alias
// names.
func (s *Store) resolveDefault(ctx context.Context) error {
	const op = "opening"
	var coll dbus.ObjectPath
	if err := s.call(ctx, s.service, methodReadAlias, defaultAlias).Store(&coll); err != nil {
		if dbusErrorName(err) == errNameUnknownMethod || dbusErrorName(err) == errNameNoSuchObject {
			return newError(op, ErrNoDefaultCollection, err)
		}
		return s.classify(op, err)
	}
	if coll == noPrompt || !coll.IsValid() {
		return newError(op, ErrNoDefaultCollection, nil)
	}
	s.collection = coll
	return nil
}

// ensureOwner checks that something owns org.freedesktop.secrets, starting
// it through bus activation when the bus can.
func (s *Store) ensureOwner(ctx context.Context) error {
	const op = "looking for the service"
	bus := s.conn.BusObject()
	var has bool
	if err := s.call(ctx, bus, methodNameHasOwner, serviceName).Store(&has); err != nil {
		return s.classify(op, err)
	}
	if !has {
		var activatable []string
		if err := s.call(ctx, bus, methodListActivatableNames).Store(&activatable); err != nil {
			return s.classify(op, err)
		}
		if !slices.Contains(activatable, serviceName) {
			return newError(op, ErrNoService, fmt.Errorf("no owner of %s on the session bus", serviceName))
		}
		var started uint32
		if err := s.call(ctx, bus, methodStartServiceByName, serviceName, uint32(0)).Store(&started); err != nil {
			return newError(op, ErrNoService, fmt.Errorf("activating %s: %w", serviceName, err))
		}
	}
	var owner string
	if err := s.call(ctx, bus, methodGetNameOwner, serviceName).Store(&owner); err != nil {
		return newError(op, ErrNoService, err)
	}
	s.owner = owner
	return nil
}

// openSession negotiates the transport: the DH algorithm first, plain only
// if the service answers NotSupported and requireEnc is false.
func (s *Store) openSession(ctx context.Context, requireEnc bool) error {
	const op = "opening a transport session"
	var output dbus.Variant
	var path dbus.ObjectPath
	if !s.opts.forcePlain {
		kp, err := newDHKeyPair()
		if err != nil {
			return fmt.Errorf("secret service: %s: %w", op, err)
		}
		err = s.call(ctx, s.service, methodOpenSession, algDH, dbus.MakeVariant(kp.public)).Store(&output, &path)
		switch {
		case err == nil:
			peer, ok := output.Value().([]byte)
			if !ok {
				return newError(op, ErrFailed, fmt.Errorf("service dh output has type %s, want ay", output.Signature()))
			}
			key, err := kp.sessionKey(peer)
			if err != nil {
				return newError(op, ErrFailed, err)
			}
			s.session, s.algorithm, s.tr = path, algDH, transport{key: key}
			return nil
		case dbusErrorName(err) != errNameNotSupported:
			return s.classify(op, err)
		case requireEnc:
			return newError(op, ErrFailed, fmt.Errorf("service refuses %s and encryption is required: %w", algDH, err))
		}
	}
	if err := s.call(ctx, s.service, methodOpenSession, algPlain, dbus.MakeVariant("")).Store(&output, &path); err != nil {
		return s.classify(op, err)
	}
	s.session, s.algorithm, s.tr = path, algPlain, transport{}
	return nil
}

// Kind reports backend.KindSecretService.
func (s *Store) Kind() backend.Kind { return backend.KindSecretService }

// MaxBlobSize returns MaxBlobSize.
func (s *Store) MaxBlobSize() int { return MaxBlobSize }

// TransportEncrypted reports whether secret values cross the bus encrypted.
func (s *Store) TransportEncrypted() bool {
	s.linkMu.RLock()
	defer s.linkMu.RUnlock()
	return s.tr.encrypted()
}

// Info describes the provider, collection and transport in use.
func (s *Store) Info() Info {
	s.linkMu.RLock()
	defer s.linkMu.RUnlock()
	return Info{Service: s.owner, Collection: string(s.collection), Transport: s.algorithm, Encrypted: s.tr.encrypted()}
}

// Put stores blob as the secret of the item for id, creating the item or
// replacing its secret (CreateItem with replace set, which providers do
// atomically; without Options.Vault, SetSecret on the existing item), then
// deletes any other item with the same attributes. It
// fails with backend.ErrTooLarge before any D-Bus call when blob exceeds
// MaxBlobSize.
func (s *Store) Put(ctx context.Context, id backend.ObjectID, blob []byte) error {
	if err := backend.CheckID(id); err != nil {
		return fmt.Errorf("secret service: putting object: %w", err)
	}
	op := fmt.Sprintf("putting object %q", id)
	if len(blob) > MaxBlobSize {
		return fmt.Errorf("secret service: %s: blob of %d bytes exceeds the limit of %d: %w", op, len(blob), MaxBlobSize, backend.ErrTooLarge)
	}
	return s.do(ctx, op, func() error { return s.put(ctx, op, id, blob) })
}

func (s *Store) put(ctx context.Context, op string, id backend.ObjectID, blob []byte) error {
	iv, ct, err := s.tr.seal(blob)
	if err != nil {
		return fmt.Errorf("secret service: %s: encrypting for transport: %w", op, err)
	}
	defer clear(ct)
	props := map[string]dbus.Variant{
		propItemLabel:      dbus.MakeVariant(label(id)),
		propItemAttributes: dbus.MakeVariant(s.itemAttributes(id)),
	}
	sec := secret{Session: s.session, Parameters: iv, Value: ct, ContentType: contentType}
	// Providers replace on a subset match of attributes, so without a vault
	// namespace CreateItem's replace flag could replace a namespaced vault's
	// item: update our own item in place instead.
	replace := true
	if s.opts.Vault == "" {
		replace = false
		existing, err := s.searchItem(ctx, op, id)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			err := s.call(ctx, s.conn.Object(serviceName, existing[0]), methodSetSecret, sec).Err
			if err == nil {
				return s.removeDuplicates(ctx, op, id, existing[0])
			}
			if !gone(err) {
				return s.classify(op, err)
			}
		}
	}
	var item, prompt dbus.ObjectPath
	coll := s.conn.Object(serviceName, s.collection)
	if err := s.call(ctx, coll, methodCreateItem, props, sec, replace).Store(&item, &prompt); err != nil {
		return s.classify(op, err)
	}
	if prompt != noPrompt {
		result, err := s.runPrompt(ctx, op, prompt)
		if err != nil {
			return err
		}
		p, ok := result.Value().(dbus.ObjectPath)
		if !ok {
			return newError(op, ErrFailed, fmt.Errorf("create prompt result has type %s, want o", result.Signature()))
		}
		item = p
	}
	return s.removeDuplicates(ctx, op, id, item)
}

// removeDuplicates deletes every item of id in this store's namespace but
// keep. Providers that match replace on the exact attribute set, or items
// written by other tools with extra attributes, can leave duplicates:
// removing them means Get never sees a stale value.
func (s *Store) removeDuplicates(ctx context.Context, op string, id backend.ObjectID, keep dbus.ObjectPath) error {
	paths, err := s.searchItem(ctx, op, id)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if p != keep {
			if err := s.deleteItem(ctx, op, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// Get returns the blob stored for id, or an error wrapping
// backend.ErrNotFound. If several items carry id (written by other tools),
// the most recently modified one wins.
func (s *Store) Get(ctx context.Context, id backend.ObjectID) ([]byte, error) {
	if err := backend.CheckID(id); err != nil {
		return nil, fmt.Errorf("secret service: getting object: %w", err)
	}
	op := fmt.Sprintf("getting object %q", id)
	var blob []byte
	err := s.do(ctx, op, func() error {
		var err error
		blob, err = s.get(ctx, op, id)
		return err
	})
	return blob, err
}

func (s *Store) get(ctx context.Context, op string, id backend.ObjectID) ([]byte, error) {
	paths, err := s.searchItem(ctx, op, id)
	if err != nil {
		return nil, err
	}
	item, err := s.newest(ctx, op, paths)
	if err != nil {
		return nil, err
	}
	if item == "" {
		return nil, fmt.Errorf("secret service: %s: %w", op, backend.ErrNotFound)
	}
	var sec secret
	if err := s.call(ctx, s.conn.Object(serviceName, item), methodGetSecret, s.session).Store(&sec); err != nil {
		if gone(err) {
			return nil, fmt.Errorf("secret service: %s: %w", op, backend.ErrNotFound)
		}
		return nil, s.classify(op, err)
	}
	defer clear(sec.Value)
	blob, err := s.tr.open(sec.Parameters, sec.Value)
	if err != nil {
		return nil, newError(op, ErrFailed, err)
	}
	return blob, nil
}

// newest returns the most recently modified of paths, "" if there are none.
func (s *Store) newest(ctx context.Context, op string, paths []dbus.ObjectPath) (dbus.ObjectPath, error) {
	if len(paths) <= 1 {
		if len(paths) == 0 {
			return "", nil
		}
		return paths[0], nil
	}
	var best dbus.ObjectPath
	var bestTime uint64
	for _, p := range paths {
		v, err := s.property(ctx, p, ifaceItem, propItemModified)
		if gone(err) {
			continue
		}
		if err != nil {
			return "", s.classify(op, err)
		}
		t, _ := v.Value().(uint64)
		if best == "" || t > bestTime {
			best, bestTime = p, t
		}
	}
	return best, nil
}

// Delete removes every item for id and reports whether there was one.
func (s *Store) Delete(ctx context.Context, id backend.ObjectID) (bool, error) {
	if err := backend.CheckID(id); err != nil {
		return false, fmt.Errorf("secret service: deleting object: %w", err)
	}
	op := fmt.Sprintf("deleting object %q", id)
	var existed bool
	err := s.do(ctx, op, func() error {
		paths, err := s.searchItem(ctx, op, id)
		if err != nil {
			return err
		}
		for _, p := range paths {
			if err := s.deleteItem(ctx, op, p); err != nil {
				return err
			}
		}
		existed = len(paths) > 0
		return nil
	})
	return existed, err
}

// deleteItem deletes one item; an item that is already gone is no error.
func (s *Store) deleteItem(ctx context.Context, op string, item dbus.ObjectPath) error {
	var prompt dbus.ObjectPath
	if err := s.call(ctx, s.conn.Object(serviceName, item), methodItemDelete).Store(&prompt); err != nil {
		if gone(err) {
			return nil
		}
		return s.classify(op, err)
	}
	if prompt != noPrompt {
		if _, err := s.runPrompt(ctx, op, prompt); err != nil {
			return err
		}
	}
	return nil
}

// List returns the object ids of every item of our schema in the default
// collection, which must be unlocked (or be unlocked, see Options.NoUnlock).
// Items whose palyra-object-id attribute is not a valid object id are
// skipped; an id held by several items is listed once.
func (s *Store) List(ctx context.Context) ([]backend.ObjectID, error) {
	const op = "listing objects"
	var ids []backend.ObjectID
	err := s.do(ctx, op, func() error {
		// A locked collection may answer attribute reads with hashed
		// values (gnome-keyring's on-disk form), which would make List
		// silently incomplete: insist on an unlocked one.
		locked, err := s.collectionLocked(ctx, op)
		if err != nil {
			return err
		}
		if locked {
			return newError(op, ErrLocked, nil)
		}
		paths, err := s.search(ctx, op, s.namespaceAttributes())
		if err != nil {
			return err
		}
		seen := make(map[backend.ObjectID]bool, len(paths))
		ids = make([]backend.ObjectID, 0, len(paths))
		for _, p := range paths {
			v, err := s.property(ctx, p, ifaceItem, propAttributes)
			if gone(err) {
				continue
			}
			if err != nil {
				return s.classify(op, err)
			}
			attrs, ok := v.Value().(map[string]string)
			if !ok {
				return newError(op, ErrFailed, fmt.Errorf("item attributes have type %s, want a{ss}", v.Signature()))
			}
			id := backend.ObjectID(attrs[AttrObjectID])
			if attrs[AttrVault] != s.opts.Vault {
				continue // another vault's item, or (Vault "") a namespaced one
			}
			if id.Valid() && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// HoldsNoItem reports whether the default collection holds no item of this
// vault, without unlocking it or prompting, locked or not: it searches by
// the vault's attributes, which a locked collection answers too
// (gnome-keyring matches the attributes it keeps hashed). Any item found
// counts, even one whose attributes cannot be read while the collection is
// locked, so true means that none was found, and false (with a nil error)
// that the vault may hold secrets. Without Options.Vault every item of the
// schema counts.
func (s *Store) HoldsNoItem(ctx context.Context) (bool, error) {
	const op = "looking for the vault's items"
	var found int
	err := s.do(ctx, op, func() error {
		paths, err := s.search(ctx, op, s.namespaceAttributes())
		found = len(paths)
		return err
	})
	if err != nil {
		return false, err
	}
	return found == 0, nil
}

// Close closes the transport session and the bus connection. It is safe to
// call more than once; the Store is unusable after.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.linkMu.Lock()
		defer s.linkMu.Unlock()
		s.closed = true
		// A failure to close the session is harmless: the service drops
		// it when the connection goes away.
		s.dropSession(context.Background())
		if err := s.conn.Close(); err != nil && !errors.Is(err, dbus.ErrClosed) {
			s.closeErr = fmt.Errorf("secret service: closing bus connection: %w", err)
		}
	})
	return s.closeErr
}

// Probe reports whether the backend really works on this host: the bus and
// the service answer, the transport session opens, the default collection
// exists and is unlocked (or, unless opts.NoUnlock, can be unlocked). It
// returns nil or the error Open or an operation would give.
func Probe(ctx context.Context, opts Options) error {
	s, err := Open(ctx, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	const op = "probing"
	locked, err := s.collectionLocked(ctx, op)
	if err != nil || !locked {
		return err
	}
	if s.opts.NoUnlock {
		return newError(op, ErrLocked, nil)
	}
	return s.unlock(ctx, op)
}

// searchItem returns the items that hold object id in this store's
// namespace. A search matches every item that carries at least the given
// attributes, so without Options.Vault it would also find the items of
// namespaced vaults: those are filtered out here.
func (s *Store) searchItem(ctx context.Context, op string, id backend.ObjectID) ([]dbus.ObjectPath, error) {
	paths, err := s.search(ctx, op, s.itemAttributes(id))
	if err != nil || s.opts.Vault != "" {
		return paths, err
	}
	ours := paths[:0]
	for _, p := range paths {
		v, err := s.property(ctx, p, ifaceItem, propAttributes)
		if gone(err) {
			continue
		}
		if err != nil {
			return nil, s.classify(op, err)
		}
		if attrs, ok := v.Value().(map[string]string); ok && attrs[AttrVault] == "" {
			ours = append(ours, p)
		}
	}
	return ours, nil
}

// search returns the items of the default collection that carry attrs.
func (s *Store) search(ctx context.Context, op string, attrs map[string]string) ([]dbus.ObjectPath, error) {
	var paths []dbus.ObjectPath
	coll := s.conn.Object(serviceName, s.collection)
	if err := s.call(ctx, coll, methodSearchItems, attrs).Store(&paths); err != nil {
		return nil, s.classify(op, err)
	}
	return paths, nil
}

// property reads one property of an object of the service.
func (s *Store) property(ctx context.Context, path dbus.ObjectPath, iface, name string) (dbus.Variant, error) {
	var v dbus.Variant
	err := s.call(ctx, s.conn.Object(serviceName, path), methodPropertiesGet, iface, name).Store(&v)
	return v, err
}

// collectionLocked reads the default collection's Locked property.
func (s *Store) collectionLocked(ctx context.Context, op string) (bool, error) {
	v, err := s.property(ctx, s.collection, ifaceCollection, propLocked)
	if err != nil {
		if gone(err) {
			return false, newError(op, ErrNoDefaultCollection, err)
		}
		return false, s.classify(op, err)
	}
	locked, ok := v.Value().(bool)
	if !ok {
		return false, newError(op, ErrFailed, fmt.Errorf("collection Locked has type %s, want b", v.Signature()))
	}
	return locked, nil
}

// call makes one D-Bus method call bounded by CallTimeout and ctx.
func (s *Store) call(ctx context.Context, obj dbus.BusObject, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(ctx, s.opts.CallTimeout)
	defer cancel()
	return obj.CallWithContext(ctx, method, 0, args...)
}

// classify is the package classify, with a caller's cancellation kept as
// it is rather than reported as a timeout.
func (s *Store) classify(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("secret service: %s: %w", op, err)
	}
	return classify(op, err)
}

// gone reports whether err says the object no longer exists (deleted by
// someone else between a search and the next call).
func gone(err error) bool {
	switch dbusErrorName(err) {
	case errNameNoSuchObject, errNameUnknownObject, errNameUnknownMethod:
		return true
	}
	return false
}

// namespaceAttributes returns the attributes every item of this store
// carries: the schema and, when Options.Vault is set, the vault.
func (s *Store) namespaceAttributes() map[string]string {
	attrs := map[string]string{AttrSchema: Schema}
	if s.opts.Vault != "" {
		attrs[AttrVault] = s.opts.Vault
	}
	return attrs
}

// itemAttributes returns the attributes of the item for id.
func (s *Store) itemAttributes(id backend.ObjectID) map[string]string {
	attrs := s.namespaceAttributes()
	attrs[AttrObjectID] = string(id)
	return attrs
}

// label returns the item's label: human-readable, but naming only the
// start of the object id, which reveals neither scope nor key.
func label(id backend.ObjectID) string {
	return "Palyra vault secret (" + string(id[:len("obj_")+12]) + "…)"
}

// busAddress returns the session bus address to dial: the one the
// options give. The backend reads no environment variable: a program finds
// the address with SessionBusAddress (vault.ConfigFromEnv does).
func busAddress(explicit string) (string, error) {
	if explicit == "" {
		return "", errors.New("no session bus: DBUS_SESSION_BUS_ADDRESS is not set and $XDG_RUNTIME_DIR/bus does not exist")
	}
	return explicit, nil
}

// SessionBusAddress returns the session bus address the environment names,
// looked up with getenv (the process environment, or a test's map):
// $DBUS_SESSION_BUS_ADDRESS
// (unless it is "autolaunch:"), else the systemd user bus socket
// $XDG_RUNTIME_DIR/bus when it exists, else "". It never launches a bus.
func SessionBusAddress(getenv func(string) string) string {
	if a := getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return a
	}
	if dir := getenv("XDG_RUNTIME_DIR"); dir != "" {
		p := filepath.Join(dir, "bus")
		if fi, err := os.Stat(p); err == nil && fi.Mode().Type() == os.ModeSocket {
			return "unix:path=" + dbus.EscapeBusAddressValue(p)
		}
	}
	return ""
}

// connect dials addr, authenticates and says Hello, all within timeout: a
// socket that accepts but never answers must not hang Open. On timeout the
// half-made connection is closed, which unblocks the reader.
func connect(ctx context.Context, addr string, timeout time.Duration) (*dbus.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		conn *dbus.Conn
		err  error
	}
	done := make(chan result, 1)
	var (
		mu        sync.Mutex
		abandoned bool
		pending   *dbus.Conn
	)
	go func() {
		conn, err := dbus.Dial(addr)
		if err != nil {
			done <- result{err: err}
			return
		}
		mu.Lock()
		if abandoned {
			mu.Unlock()
			_ = conn.Close()
			return
		}
		pending = conn
		mu.Unlock()
		if err := conn.Auth(nil); err != nil {
			_ = conn.Close()
			done <- result{err: fmt.Errorf("authenticating: %w", err)}
			return
		}
		if err := conn.Hello(); err != nil {
			_ = conn.Close()
			done <- result{err: fmt.Errorf("saying hello: %w", err)}
			return
		}
		done <- result{conn: conn}
	}()
	select {
	case r := <-done:
		return r.conn, r.err
	case <-ctx.Done():
		mu.Lock()
		abandoned = true
		if pending != nil {
			_ = pending.Close()
		}
		mu.Unlock()
		return nil, ctx.Err()
	}
}

// Describe returns Info().String(): the collection, the provider and
// whether values cross the bus encrypted.
func (s *Store) Describe() string { return s.Info().String() }
