// Package keyringread reads items that other programs keep in the
// freedesktop Secret Service (gnome-keyring, KeePassXC, …): items written by
// zalando/go-keyring and Python's keyring (attributes "service" and
// "username"), by libsecret's secret-tool (any attributes), and so on. It
// only searches and reads; it never creates, changes or deletes an item.
//
// It speaks D-Bus through github.com/godbus/dbus/v5, with values crossing
// the bus in an encrypted session (dh-ietf1024-sha256-aes128-cbc-pkcs7,
// falling back to plain only when the service refuses it). It is a small,
// read-only sibling of the linux_secret_service backend
// (vault/backend/secretservice), whose Store only reaches items of its own
// schema; when that package exports an attribute search, this one can
// shrink to a call.
//
// Every call is bounded by the caller's context; Search fails with an error
// wrapping ErrUnavailable when there is no bus or no service, and ErrLocked
// when matching items sit in a locked collection (unlocking would need a
// prompt on the user's desktop, which this package never shows).
package keyringread

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	serviceName   = "org.freedesktop.secrets"
	servicePath   = dbus.ObjectPath("/org/freedesktop/secrets")
	ifaceService  = "org.freedesktop.Secret.Service"
	ifaceItem     = "org.freedesktop.Secret.Item"
	ifaceSession  = "org.freedesktop.Secret.Session"
	propertiesGet = "org.freedesktop.DBus.Properties.Get"
	algDH         = "dh-ietf1024-sha256-aes128-cbc-pkcs7"
	algPlain      = "plain"
	noPrompt      = dbus.ObjectPath("/")
	errNotSupport = "org.freedesktop.DBus.Error.NotSupported"
)

var (
	// ErrUnavailable means there is no session bus, or no Secret Service
	// on it.
	ErrUnavailable = errors.New("secret service unavailable")
	// ErrLocked means some matching items are in a locked collection.
	ErrLocked = errors.New("secret service collection is locked")
)

// Item is one item of the Secret Service. Secret is the caller's to wipe.
type Item struct {
	// Path is the item's D-Bus object path.
	Path dbus.ObjectPath
	// Label is the item's human-readable label.
	Label string
	// Attributes are the item's lookup attributes.
	Attributes map[string]string
	// Created and Modified are the item's times, to the second; zero when
	// the service does not report them.
	Created, Modified time.Time
	// Secret is the item's secret value.
	Secret []byte
}

// Search returns every item, in any collection, whose attributes include
// all of attrs (at least one pair), with its secret, sorted by path. addr is
// the session bus address; "" means $DBUS_SESSION_BUS_ADDRESS. A matching
// item in a locked collection makes it fail with ErrLocked.
func Search(ctx context.Context, addr string, attrs map[string]string) ([]Item, error) {
	if len(attrs) == 0 {
		return nil, errors.New("searching the secret service: no attributes to search by")
	}
	if addr == "" {
		addr = os.Getenv("DBUS_SESSION_BUS_ADDRESS")
	}
	if addr == "" {
		if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
			addr = "unix:path=" + dbus.EscapeBusAddressValue(filepath.Join(dir, "bus"))
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("%w: no session bus (DBUS_SESSION_BUS_ADDRESS is not set)", ErrUnavailable)
	}
	// The connection lives as long as ctx: when ctx ends, godbus closes
	// it, which also unblocks a bus that accepts but never answers.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	conn, err := dbus.Connect(addr, dbus.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: connecting to the session bus: %w", ErrUnavailable, ctx.Err())
		}
		return nil, fmt.Errorf("%w: connecting to the session bus: %v", ErrUnavailable, err)
	}
	defer conn.Close()
	c := &client{ctx: ctx, conn: conn, svc: conn.Object(serviceName, servicePath)}
	if err := c.openSession(); err != nil {
		return nil, err
	}
	defer c.call(conn.Object(serviceName, c.session), ifaceSession+".Close")

	var unlocked, locked []dbus.ObjectPath
	if err := c.call(c.svc, ifaceService+".SearchItems", attrs).Store(&unlocked, &locked); err != nil {
		return nil, fmt.Errorf("searching the secret service: %w", err)
	}
	if len(locked) > 0 {
		return nil, fmt.Errorf("%w: %d matching items are in a locked collection; unlock it (for example by logging in to the desktop, or with seahorse) and try again", ErrLocked, len(locked))
	}
	slices.Sort(unlocked)
	var secrets map[dbus.ObjectPath]secret
	if len(unlocked) > 0 {
		if err := c.call(c.svc, ifaceService+".GetSecrets", unlocked, c.session).Store(&secrets); err != nil {
			return nil, fmt.Errorf("reading secrets from the secret service: %w", err)
		}
	}
	defer func() {
		for _, s := range secrets {
			clear(s.Value)
		}
	}()
	items := make([]Item, 0, len(unlocked))
	for _, p := range unlocked {
		s, ok := secrets[p]
		if !ok {
			continue // deleted meanwhile
		}
		value, err := c.tr.open(s.Parameters, s.Value)
		if err != nil {
			return nil, fmt.Errorf("reading item %s: %w", p, err)
		}
		it := Item{Path: p, Secret: value}
		obj := conn.Object(serviceName, p)
		if v, err := c.prop(obj, "Label"); err == nil {
			it.Label, _ = v.Value().(string)
		}
		if v, err := c.prop(obj, "Attributes"); err == nil {
			it.Attributes, _ = v.Value().(map[string]string)
		}
		if v, err := c.prop(obj, "Created"); err == nil {
			if t, ok := v.Value().(uint64); ok && t > 0 && t < 1<<40 {
				it.Created = time.Unix(int64(t), 0).UTC()
			}
		}
		if v, err := c.prop(obj, "Modified"); err == nil {
			if t, ok := v.Value().(uint64); ok && t > 0 && t < 1<<40 {
				it.Modified = time.Unix(int64(t), 0).UTC()
			}
		}
		items = append(items, it)
	}
	return items, nil
}

// secret is the Secret struct of the API, D-Bus signature (oayays).
type secret struct {
	Session     dbus.ObjectPath
	Parameters  []byte
	Value       []byte
	ContentType string
}

type client struct {
	ctx     context.Context
	conn    *dbus.Conn
	svc     dbus.BusObject
	session dbus.ObjectPath
	tr      transport
}

func (c *client) call(obj dbus.BusObject, method string, args ...any) *dbus.Call {
	return obj.CallWithContext(c.ctx, method, 0, args...)
}

func (c *client) prop(obj dbus.BusObject, name string) (dbus.Variant, error) {
	var v dbus.Variant
	err := c.call(obj, propertiesGet, ifaceItem, name).Store(&v)
	return v, err
}

// openSession negotiates the encrypted transport, plain only when the
// service answers NotSupported.
func (c *client) openSession() error {
	var out dbus.Variant
	kp, err := newDHKeyPair()
	if err != nil {
		return err
	}
	err = c.call(c.svc, ifaceService+".OpenSession", algDH, dbus.MakeVariant(kp.public)).Store(&out, &c.session)
	if err == nil {
		peer, ok := out.Value().([]byte)
		if !ok {
			return fmt.Errorf("opening a secret service session: dh output has type %s, want ay", out.Signature())
		}
		key, err := kp.sessionKey(peer)
		if err != nil {
			return fmt.Errorf("opening a secret service session: %w", err)
		}
		c.tr = transport{key: key}
		return nil
	}
	var de dbus.Error
	if !errors.As(err, &de) || de.Name != errNotSupport {
		return unavailable(err)
	}
	if err := c.call(c.svc, ifaceService+".OpenSession", algPlain, dbus.MakeVariant("")).Store(&out, &c.session); err != nil {
		return unavailable(err)
	}
	return nil
}

// unavailable reports a failed first call as a missing service.
func unavailable(err error) error {
	var de dbus.Error
	if errors.As(err, &de) && (de.Name == "org.freedesktop.DBus.Error.ServiceUnknown" || de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner") {
		return fmt.Errorf("%w: nothing provides %s on the session bus; start gnome-keyring or KeePassXC", ErrUnavailable, serviceName)
	}
	return fmt.Errorf("%w: opening a session: %v", ErrUnavailable, err)
}

// modpGroup2 is the 1024-bit MODP group of RFC 2409, section 6.2
// (generator 2), which the dh-ietf1024 algorithm of the Secret Service
// specification uses.
var modpGroup2, _ = new(big.Int).SetString(""+
	"FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD1"+
	"29024E088A67CC74020BBEA63B139B22514A08798E3404DD"+
	"EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245"+
	"E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"+
	"EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381"+
	"FFFFFFFFFFFFFFFF", 16)

const dhSize = 128 // bytes of a group element

type dhKeyPair struct {
	private *big.Int
	public  []byte
}

// newDHKeyPair draws x uniformly from [2, p-2] and returns 2^x mod p.
func newDHKeyPair() (*dhKeyPair, error) {
	x, err := rand.Int(rand.Reader, new(big.Int).Sub(modpGroup2, big.NewInt(3)))
	if err != nil {
		return nil, fmt.Errorf("opening a secret service session: %w", err)
	}
	x.Add(x, big.NewInt(2))
	pub := new(big.Int).Exp(big.NewInt(2), x, modpGroup2)
	return &dhKeyPair{private: x, public: pub.FillBytes(make([]byte, dhSize))}, nil
}

// sessionKey returns HKDF-SHA256(peer^x mod p, no salt, no info), 16 bytes.
// A peer value outside [2, p-2] is refused.
func (kp *dhKeyPair) sessionKey(peer []byte) ([]byte, error) {
	y := new(big.Int).SetBytes(peer)
	if len(peer) > dhSize || y.Cmp(big.NewInt(1)) <= 0 || y.Cmp(new(big.Int).Sub(modpGroup2, big.NewInt(1))) >= 0 {
		return nil, errors.New("the service's dh public value is out of range")
	}
	shared := new(big.Int).Exp(y, kp.private, modpGroup2).FillBytes(make([]byte, dhSize))
	defer clear(shared)
	return hkdf.Key(sha256.New, shared, nil, "", 16)
}

// transport decrypts values; a nil key is the plain transport.
type transport struct{ key []byte }

// open decrypts an AES-128-CBC, PKCS#7-padded value. Errors carry no
// secret bytes.
func (t transport) open(iv, ct []byte) ([]byte, error) {
	if t.key == nil {
		return bytes.Clone(ct), nil
	}
	if len(iv) != aes.BlockSize || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, errors.New("malformed encrypted secret from the service")
	}
	block, err := aes.NewCipher(t.key)
	if err != nil {
		return nil, err
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	ok := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	if ok == 1 {
		for _, b := range pt[len(pt)-pad:] {
			ok &= subtle.ConstantTimeByteEq(b, byte(pad))
		}
	}
	if ok != 1 {
		clear(pt)
		return nil, errors.New("malformed encrypted secret from the service: bad padding")
	}
	return pt[:len(pt)-pad], nil
}
