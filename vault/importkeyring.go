package vault

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/backend/secretservice"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// KeyringImportOptions configure ImportKeyring.
type KeyringImportOptions struct {
	// Scope receives the imported secrets. Required.
	Scope string
	// Attributes select the items to import: those whose attributes
	// include every pair. zalando/go-keyring and Python's keyring store
	// {"service": <service>, "username": <user>}, so {"service": "github"}
	// selects one tool's items; secret-tool items have whatever attributes
	// `secret-tool store` was given. At least one pair is required.
	Attributes map[string]string
	// KeyAttribute names the attribute whose value becomes each secret's
	// key; empty means "username". The value is lowercased and every
	// character outside [a-z0-9._-] becomes '-' (so "Alice@Example" is
	// "alice-example"); an item without it, or two items giving the same
	// key, stop the import before anything is written.
	KeyAttribute string
	// OnConflict is "fail" (or ""), "skip" or "overwrite", as for Import.
	OnConflict string
	// Address is the session bus address; empty means the vault's
	// (Config.SessionBus).
	Address string
}

// KeyringImportReport says what ImportKeyring did.
type KeyringImportReport struct {
	Imported    int `json:"imported"`
	Overwritten int `json:"overwritten"`
	Skipped     int `json:"skipped"`
	// Keys lists the imported items, sorted by key: each key and the label
	// of the item it came from.
	Keys []KeyringImportedItem `json:"keys"`
}

// KeyringImportedItem names one item ImportKeyring read.
type KeyringImportedItem struct {
	Key   string `json:"key"`
	Label string `json:"label"`
}

// ImportKeyring copies secrets that other tools keep in the freedesktop
// Secret Service into this vault under opts.Scope, one secret per item,
// without changing or deleting the items. It reads and checks every item
// first (a key for each, no two alike, every value within this vault's
// limits), so a problem imports nothing; then it writes under the writer
// lock, applying opts.OnConflict like Import. Items of palyra's own schema
// are never imported. The secrets keep the items' creation and
// modification times. It fails with ErrBackendUnavailable when the
// service cannot be reached or the items are in a locked collection.
func (v *Vault) ImportKeyring(ctx context.Context, opts KeyringImportOptions) (KeyringImportReport, error) {
	var rep KeyringImportReport
	if err := secret.ValidateScope(opts.Scope); err != nil {
		return rep, err
	}
	if len(opts.Attributes) == 0 {
		return rep, errors.New("importing from the keyring: give at least one attribute to select items by (for example service=github)")
	}
	switch opts.OnConflict {
	case "", OnConflictFail, OnConflictSkip, OnConflictOverwrite:
	default:
		return rep, fmt.Errorf("importing from the keyring: on-conflict %q is not one of fail, skip, overwrite", truncate(opts.OnConflict))
	}
	keyAttr := opts.KeyAttribute
	if keyAttr == "" {
		keyAttr = "username"
	}
	addr := opts.Address
	if addr == "" {
		addr = v.bus
	}
	items, err := secretservice.Search(ctx, secretservice.Options{Address: addr}, opts.Attributes)
	defer func() {
		for _, it := range items {
			clear(it.Secret)
		}
	}()
	if err != nil {
		if errors.Is(err, backend.ErrUnavailable) {
			return rep, fmt.Errorf("%w: importing from the keyring: %w", ErrBackendUnavailable, err)
		}
		return rep, fmt.Errorf("importing from the keyring: %w", err)
	}
	items = slices.DeleteFunc(items, func(it secretservice.Item) bool {
		if it.Attributes[secretservice.AttrSchema] == secretservice.Schema {
			clear(it.Secret)
			return true
		}
		return false
	})
	if len(items) == 0 {
		return rep, fmt.Errorf("%w: importing from the keyring: no item has the attributes %s", ErrNotFound, describeAttrs(opts.Attributes))
	}

	// Check everything before writing anything.
	keys := make([]string, len(items))
	byKey := map[string]string{}
	var problems []string
	for i, it := range items {
		raw, ok := it.Attributes[keyAttr]
		if !ok {
			problems = append(problems, fmt.Sprintf("item %q has no %q attribute to name its key", truncate(it.Label), keyAttr))
			continue
		}
		key := keyFromAttribute(raw)
		if err := secret.ValidateKey(key); err != nil {
			problems = append(problems, fmt.Sprintf("item %q: %v", truncate(it.Label), err))
			continue
		}
		if other, dup := byKey[key]; dup {
			problems = append(problems, fmt.Sprintf("items %q and %q both become key %q", truncate(other), truncate(it.Label), key))
			continue
		}
		byKey[key] = it.Label
		keys[i] = key
		if len(it.Secret) > v.info.MaxSecretSize || len(it.Secret) > v.maxValueSize(opts.Scope, key) {
			problems = append(problems, fmt.Sprintf("item %q is %d bytes, more than this vault holds", truncate(it.Label), len(it.Secret)))
		}
	}
	if len(problems) > 0 {
		return rep, fmt.Errorf("importing from the keyring: nothing was imported: %s; choose the key attribute with the right option, or narrow the attributes", strings.Join(problems, "; "))
	}

	unlock, err := v.lock(ctx)
	if err != nil {
		return rep, err
	}
	defer unlock()
	exists := make([]bool, len(items))
	var conflicts []string
	for i := range items {
		_, err := v.header(ctx, envelope.ObjectID(opts.Scope, keys[i]))
		switch {
		case errors.Is(err, ErrNotFound):
		case err == nil || errors.Is(err, ErrCorrupt):
			exists[i] = true
			conflicts = append(conflicts, Ref{Scope: opts.Scope, Key: keys[i]}.String())
		default:
			return rep, fmt.Errorf("importing from the keyring: checking %s: %w", Ref{Scope: opts.Scope, Key: keys[i]}, err)
		}
	}
	if len(conflicts) > 0 && (opts.OnConflict == "" || opts.OnConflict == OnConflictFail) {
		return rep, fmt.Errorf("%w: importing from the keyring: %s already exist, so nothing was imported; choose to skip or overwrite them", ErrConflict, strings.Join(conflicts, ", "))
	}
	now := v.now()
	for i, it := range items {
		if exists[i] && opts.OnConflict == OnConflictSkip {
			rep.Skipped++
			continue
		}
		h := envelope.Header{Scope: opts.Scope, Key: keys[i], Created: it.Created, Updated: it.Modified}
		if h.Created.IsZero() {
			h.Created = now
		}
		if h.Updated.IsZero() {
			h.Updated = h.Created
		}
		if err := v.store(ctx, h, it.Secret); err != nil {
			return rep, fmt.Errorf("importing %s: %w", Ref{Scope: opts.Scope, Key: keys[i]}, err)
		}
		if exists[i] {
			rep.Overwritten++
		} else {
			rep.Imported++
		}
		rep.Keys = append(rep.Keys, KeyringImportedItem{Key: keys[i], Label: it.Label})
	}
	slices.SortFunc(rep.Keys, func(a, b KeyringImportedItem) int { return strings.Compare(a.Key, b.Key) })
	return rep, nil
}

// keyFromAttribute maps an attribute value onto the key grammar:
// lowercase, every other character '-', at most secret.MaxKeyLen bytes. The
// result may still be invalid (empty, or starting with '.'), which the
// caller reports.
func keyFromAttribute(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= secret.MaxKeyLen {
			break
		}
	}
	return b.String()
}

// describeAttrs renders attributes as k=v pairs, sorted, quoted.
func describeAttrs(attrs map[string]string) string {
	var parts []string
	for k, v := range attrs {
		parts = append(parts, fmt.Sprintf("%q=%q", truncate(k), truncate(v)))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}
