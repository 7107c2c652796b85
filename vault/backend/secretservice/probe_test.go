package secretservice

import (
	"errors"
	"testing"
)

// probeItems returns the probe items in the private keyring.
func probeItems(t *testing.T) int {
	t.Helper()
	s := openStore(t, Options{})
	return len(itemsFor(t, s, map[string]string{AttrSchema: ProbeSchema}))
}

func TestProbeUsableStoresReadsBackAndLeavesNothing(t *testing.T) {
	if err := ProbeUsable(testCtx(t), Options{Address: keyringBus(t)}); err != nil {
		t.Fatalf("ProbeUsable on an unlocked keyring: %v", err)
	}
	if n := probeItems(t); n != 0 {
		t.Errorf("%d probe items left in the keyring, want 0", n)
	}
}

func TestProbeUsableRefusesALockedCollectionWithoutAPrompt(t *testing.T) {
	lockDefault(t)
	err := ProbeUsable(testCtx(t), Options{Address: keyringBus(t)})
	assertReason(t, err, ErrLocked)
	if errors.Is(err, ErrPromptDismissed) {
		t.Errorf("the probe must not show a prompt, yet the error says one was dismissed: %v", err)
	}
	if !errors.Is(err, errNeedsPrompt) {
		t.Errorf("error %v should say that unlocking needs a prompt", err)
	}
	// The probe neither unlocked the collection nor left a prompt behind.
	s := openStore(t, Options{})
	if l, err := s.collectionLocked(testCtx(t), "test"); err != nil || !l {
		t.Errorf("after the probe: Locked = %v, %v; want still locked", l, err)
	}
	unlockDefault(t)
	if err := ProbeUsable(testCtx(t), Options{Address: keyringBus(t)}); err != nil {
		t.Fatalf("ProbeUsable after unlocking: %v", err)
	}
	if n := probeItems(t); n != 0 {
		t.Errorf("%d probe items left in the keyring, want 0", n)
	}
}

func TestProbeUsableWithoutServiceFailsWithErrNoService(t *testing.T) {
	err := ProbeUsable(testCtx(t), Options{})
	assertReason(t, err, ErrNoService)
}
