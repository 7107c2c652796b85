package secretservice

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/godbus/dbus/v5"
)

// hintSearchLocked replaces hintLocked for Search, whose items may be in
// any collection, not only the default one.
const hintSearchLocked = "unlock the keyring that holds the items (log in to the desktop session, or unlock it in Seahorse) and retry"

// Item is one item of the Secret Service as Search returns it: an item of
// any program (zalando/go-keyring, Python's keyring, libsecret's
// secret-tool, this backend), in any collection.
//
// Secret is the caller's to wipe with clear when done. Item's String and
// GoString (so %v, %+v and %#v) and its JSON form leave the secret out.
type Item struct {
	// Path is the item's D-Bus object path, e.g.
	// /org/freedesktop/secrets/collection/login/7.
	Path string `json:"path"`
	// Collection is the object path of the collection that holds the
	// item: the parent of Path, as the Secret Service API lays out object
	// paths.
	Collection string `json:"collection"`
	// Label is the item's human-readable label.
	Label string `json:"label"`
	// Attributes are the item's lookup attributes.
	Attributes map[string]string `json:"attributes"`
	// Created and Modified are the item's times, to the second, in UTC;
	// zero when the service does not report them.
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
	// Secret is the item's secret value, decrypted from the transport.
	Secret []byte `json:"-"`
}

// String describes the item without its secret.
func (it Item) String() string {
	return fmt.Sprintf("secret service item %s (label %q, %d attributes, %d-byte secret redacted)", it.Path, it.Label, len(it.Attributes), len(it.Secret))
}

// GoString is String, so that %#v leaves the secret out too.
func (it Item) GoString() string { return it.String() }

// Search returns every item, in every collection of the service, whose
// attributes include all of attrs (at least one pair), with its secret,
// sorted by path. It only reads: it never creates, changes, deletes or
// unlocks an item or a collection, and never shows a prompt. It opens a
// connection and a transport session of its own, as Open does (bounded by
// opts.CallTimeout, encrypted unless the service refuses, or an error when
// opts.RequireEncryption is set), and closes them before it returns;
// opts.NoUnlock, PromptTimeout and Vault play no part. The service need not
// have a default collection. Items deleted while Search runs are left out.
//
// It fails without touching the bus when attrs is empty; with an *Error
// wrapping backend.ErrUnavailable and ErrNoService, ErrTimeout or ErrFailed
// when the service cannot be reached or misbehaves; and with one wrapping
// ErrLocked when any matching item is in a locked collection (unlocking
// could show a password prompt on the user's desktop, which is not
// Search's to do). The error never holds a secret.
func Search(ctx context.Context, opts Options, attrs map[string]string) ([]Item, error) {
	const op = "searching items"
	if len(attrs) == 0 {
		return nil, errors.New("secret service: searching items: no attributes to search by")
	}
	s, err := dial(ctx, opts.withDefaults(), op)
	if err != nil {
		return nil, err
	}
	defer s.Close()

	var unlocked, locked []dbus.ObjectPath
	if err := s.call(ctx, s.service, methodServiceSearch, attrs).Store(&unlocked, &locked); err != nil {
		return nil, s.classify(op, err)
	}
	if len(locked) > 0 {
		e := newError(op, ErrLocked, fmt.Errorf("%d matching items are in a locked collection", len(locked)))
		e.hint = hintSearchLocked
		return nil, e
	}
	if len(unlocked) == 0 {
		return nil, nil
	}
	slices.Sort(unlocked)
	var secrets map[dbus.ObjectPath]secret
	defer func() {
		for _, sec := range secrets {
			clear(sec.Value)
		}
	}()
	if err := s.call(ctx, s.service, methodGetSecrets, unlocked, s.session).Store(&secrets); err != nil {
		return nil, s.classify(op, err)
	}

	items := make([]Item, 0, len(unlocked))
	done := false
	defer func() {
		if !done {
			for _, it := range items {
				clear(it.Secret)
			}
		}
	}()
	for _, p := range unlocked {
		sec, ok := secrets[p]
		if !ok {
			continue // deleted since the search
		}
		it, err := s.describeItem(ctx, op, p)
		if gone(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if it.Secret, err = s.tr.open(sec.Parameters, sec.Value); err != nil {
			return nil, newError(op, ErrFailed, fmt.Errorf("item %s: %w", p, err))
		}
		items = append(items, it)
	}
	done = true
	return items, nil
}

// describeItem reads the properties of item p, all in one call. A property
// the service leaves out stays zero; one of the wrong type is ErrFailed. The
// error for an item deleted meanwhile still satisfies gone.
func (s *Store) describeItem(ctx context.Context, op string, p dbus.ObjectPath) (Item, error) {
	it := Item{Path: string(p), Collection: path.Dir(string(p))}
	var props map[string]dbus.Variant
	if err := s.call(ctx, s.conn.Object(serviceName, p), methodPropertiesAll, ifaceItem).Store(&props); err != nil {
		return it, s.classify(op, err)
	}
	wrongType := func(name, want string) error {
		return newError(op, ErrFailed, fmt.Errorf("item %s: %s has type %s, want %s", p, name, props[name].Signature(), want))
	}
	var ok bool
	if v, has := props[propLabel]; has {
		if it.Label, ok = v.Value().(string); !ok {
			return it, wrongType(propLabel, "s")
		}
	}
	if v, has := props[propAttributes]; has {
		if it.Attributes, ok = v.Value().(map[string]string); !ok {
			return it, wrongType(propAttributes, "a{ss}")
		}
	}
	for name, t := range map[string]*time.Time{propItemCreated: &it.Created, propItemModified: &it.Modified} {
		v, has := props[name]
		if !has {
			continue
		}
		secs, ok := v.Value().(uint64)
		if !ok {
			return it, wrongType(name, "t")
		}
		// Zero means unknown; absurd times (past the year 36812) too.
		if secs > 0 && secs < 1<<40 {
			*t = time.Unix(int64(secs), 0).UTC()
		}
	}
	return it, nil
}
