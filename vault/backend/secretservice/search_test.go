package secretservice

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// sessionCollection is gnome-keyring's in-memory collection, which exists
// (unlocked) besides the login keyring.
const sessionCollection = dbus.ObjectPath("/org/freedesktop/secrets/collection/session")

// foreignTag returns an attribute value no other test uses, so that a
// search on it finds only the test's own items.
func foreignTag(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "palyra-search-test-" + hex.EncodeToString(b[:])
}

func TestSearchReadsMatchingItemsOfEveryCollectionOnBothTransports(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			s := openStore(t, tr.opts)
			ctx := testCtx(t)
			tag := foreignTag(t)
			before := time.Now().Add(-time.Second).Truncate(time.Second)
			// zalando/go-keyring's attributes in the login keyring, Python
			// keyring's in the session collection, and one that must not match.
			want := []Item{
				{
					Path:       string(createRawItem(t, s, s.collection, "Password for 'alice' on '"+tag+"'", map[string]string{"service": tag, "username": "alice"}, allBytes())),
					Collection: string(s.collection),
					Label:      "Password for 'alice' on '" + tag + "'",
					Attributes: map[string]string{"service": tag, "username": "alice"},
					Secret:     allBytes(),
				},
				{
					Path:       string(createRawItem(t, s, sessionCollection, "bob", map[string]string{"service": tag, "username": "bob", "application": "Python keyring library"}, []byte("pw-bob\n"))),
					Collection: string(sessionCollection),
					Label:      "bob",
					Attributes: map[string]string{"service": tag, "username": "bob", "application": "Python keyring library"},
					Secret:     []byte("pw-bob\n"),
				},
			}
			createRawItem(t, s, s.collection, "carol", map[string]string{"service": tag + "-other", "username": "carol"}, []byte("other"))
			if want[1].Path < want[0].Path {
				want[0], want[1] = want[1], want[0]
			}

			items, err := Search(ctx, Options{Address: keyringBus(t), forcePlain: tr.opts.forcePlain}, map[string]string{"service": tag})
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if len(items) != len(want) {
				t.Fatalf("Search found %v, want %d items", items, len(want))
			}
			for i, got := range items {
				w := want[i]
				if got.Path != w.Path || got.Collection != w.Collection || got.Label != w.Label || !hasAttributes(got.Attributes, w.Attributes) {
					t.Errorf("item %d = %v in %s with %v, want %v in %s with %v", i, got, got.Collection, got.Attributes, w, w.Collection, w.Attributes)
				}
				if !bytes.Equal(got.Secret, w.Secret) {
					t.Errorf("item %s: secret of %d bytes differs from the %d stored", got.Path, len(got.Secret), len(w.Secret))
				}
				for name, tm := range map[string]time.Time{"Created": got.Created, "Modified": got.Modified} {
					if tm.Before(before) || tm.After(time.Now()) || tm.Location() != time.UTC {
						t.Errorf("item %s: %s = %v, want a UTC time since %v", got.Path, name, tm, before)
					}
				}
			}
		})
	}
}

// hasAttributes reports whether got holds every pair of want. A provider may
// add its own (gnome-keyring adds xdg:schema to items without one).
func hasAttributes(got, want map[string]string) bool {
	for k, v := range want {
		if w, ok := got[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestSearchReadsWhatSecretToolStoredWithGoKeyringAttributes(t *testing.T) {
	tool := secretTool(t)
	for _, v := range interopValues {
		t.Run(v.name, func(t *testing.T) {
			ctx := testCtx(t)
			tag := foreignTag(t)
			cmd := exec.CommandContext(ctx, tool, "store", "--label=login "+v.name, "service", tag, "username", "alice")
			cmd.Env = secretToolEnv(t)
			cmd.Stdin = bytes.NewReader(v.value)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("secret-tool store: %v: %s", err, out)
			}
			t.Cleanup(func() {
				cmd := exec.Command(tool, "clear", "service", tag)
				cmd.Env = secretToolEnv(t)
				_ = cmd.Run()
			})
			items, err := Search(ctx, Options{Address: keyringBus(t)}, map[string]string{"service": tag})
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if len(items) != 1 || items[0].Label != "login "+v.name || items[0].Attributes["username"] != "alice" {
				t.Fatalf("Search = %v, want the one item secret-tool stored", items)
			}
			if !bytes.Equal(items[0].Secret, v.value) {
				t.Fatalf("Search read %d bytes that differ from the %d secret-tool stored", len(items[0].Secret), len(v.value))
			}
		})
	}
}

func TestSearchRefusesLockedCollectionWithoutUnlockingIt(t *testing.T) {
	s := openStore(t, Options{NoUnlock: true})
	ctx := testCtx(t)
	inLogin, inSession := foreignTag(t), foreignTag(t)
	createRawItem(t, s, s.collection, "in login", map[string]string{"service": inLogin}, []byte("v1"))
	createRawItem(t, s, sessionCollection, "in session", map[string]string{"service": inSession}, []byte("v2"))
	lockDefault(t)
	opts := Options{Address: keyringBus(t)}

	_, err := Search(ctx, opts, map[string]string{"service": inLogin})
	assertReason(t, err, ErrLocked)
	var e *Error
	if errors.Is(err, ErrPromptDismissed) || !errors.As(err, &e) || e.Hint() != hintSearchLocked {
		t.Errorf("Search in a locked collection = %v, want ErrLocked with the search hint and no prompt", err)
	}
	if locked, err := s.collectionLocked(ctx, "test"); err != nil || !locked {
		t.Errorf("after Search the login collection is Locked=%v (%v); Search must not unlock it", locked, err)
	}
	items, err := Search(ctx, opts, map[string]string{"service": inSession})
	if err != nil || len(items) != 1 || string(items[0].Secret) != "v2" {
		t.Errorf("Search in the unlocked session collection while login is locked = %v, %v", items, err)
	}
}

func TestSearchWithNoMatchReturnsNoItems(t *testing.T) {
	items, err := Search(testCtx(t), Options{Address: keyringBus(t)}, map[string]string{"service": foreignTag(t)})
	if err != nil || len(items) != 0 {
		t.Fatalf("Search = %v, %v; want no items and no error", items, err)
	}
}

func TestSearchWithoutAttributesIsRefusedBeforeTheBus(t *testing.T) {
	// The address is never dialled: a bus there would hang the call.
	for _, attrs := range []map[string]string{nil, {}} {
		_, err := Search(testCtx(t), Options{Address: "unix:path=/nonexistent"}, attrs)
		if err == nil || !strings.Contains(err.Error(), "no attributes to search by") {
			t.Errorf("Search(%v) = %v, want a refusal naming the attributes", attrs, err)
		}
	}
}

func TestItemFormatsAndJSONLeaveTheSecretOut(t *testing.T) {
	const value = "sk-very-secret-value"
	it := Item{Path: "/org/freedesktop/secrets/collection/login/1", Label: "l", Attributes: map[string]string{"a": "b"}, Secret: []byte(value)}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		outs = append(outs, fmt.Sprintf(verb, it), fmt.Sprintf(verb, []Item{it}), fmt.Sprintf(verb, &it))
	}
	for _, v := range []any{it, []Item{it}} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, string(j))
	}
	encodings := []string{value, hex.EncodeToString([]byte(value)), base64.StdEncoding.EncodeToString([]byte(value))[:24], strings.Trim(fmt.Sprint([]byte(value)), "[]")}
	for _, out := range outs {
		if slices.ContainsFunc(encodings, func(enc string) bool { return strings.Contains(out, enc) }) {
			t.Errorf("the secret shows in %q", out)
		}
		if !strings.Contains(out, "/org/freedesktop/secrets/collection/login/1") {
			t.Errorf("%q does not name the item", out)
		}
	}
}
