package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

func verify(t *testing.T, v *Vault) VerifyReport {
	t.Helper()
	rep, err := v.Verify(context.Background())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func TestVerifyOfAHealthyVaultReportsNoProblem(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "a", "secret-value-a")
	mustPut(t, v, "plugins/x", "b", "secret-value-b")
	rep := verify(t, v)
	if !rep.OK() || rep.Objects != 2 || rep.Healthy != 2 || rep.KeySource != KeySourceDevice {
		t.Fatalf("report = %+v", rep)
	}
	js, _ := json.Marshal(rep)
	if !bytes.Contains(js, []byte(`"problems":[]`)) || bytes.Contains(js, []byte("secret-value")) {
		t.Fatalf("JSON = %s", js)
	}
}

// problemOf returns the problems of kind.
func problemsOf(rep VerifyReport, kind string) []VerifyProblem {
	var out []VerifyProblem
	for _, p := range rep.Problems {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out
}

func TestVerifyNamesEachDamagedObject(t *testing.T) {
	tests := []struct {
		name      string
		damage    func(t *testing.T, cfg Config, path string, b []byte)
		kind      string
		wantNamed bool // reported by scope and key, not only by object id
		detail    string
	}{
		{"flipped ciphertext byte", func(t *testing.T, cfg Config, path string, b []byte) {
			b[len(b)-1] ^= 1
			os.WriteFile(path, b, 0o600)
		}, ProblemCorrupt, true, "value does not authenticate"},
		{"truncated", func(t *testing.T, cfg Config, path string, b []byte) {
			os.WriteFile(path, b[:len(b)-3], 0o600)
		}, ProblemCorrupt, true, "truncated"},
		{"damaged header", func(t *testing.T, cfg Config, path string, b []byte) {
			b[0] = 'X'
			os.WriteFile(path, b, 0o600)
		}, ProblemCorrupt, false, "header damaged"},
		{"moved from another secret", func(t *testing.T, cfg Config, path string, b []byte) {
			other, _ := os.ReadFile(objectPath(cfg, "global", "good"))
			os.WriteFile(path, other, 0o600)
		}, ProblemCorrupt, false, "header names vault://global/good"},
		{"sealed under a foreign key", func(t *testing.T, cfg Config, path string, b []byte) {
			h, _, _ := envelope.ParseHeader(b)
			blob, err := envelope.Sealer{KEK: &envelope.KEK{1, 2, 3}}.Seal(h, []byte("x"))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(path, blob, 0o600)
		}, ProblemWrongKey, true, "different key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			v := openTest(t, cfg)
			mustPut(t, v, "global", "good", "fine")
			mustPut(t, v, "plugins/x", "bad", "will be damaged")
			path := objectPath(cfg, "plugins/x", "bad")
			b, _ := os.ReadFile(path)
			tt.damage(t, cfg, path, b)
			before := hashTree(t, cfg.Root)
			rep := verify(t, v)
			if rep.OK() || rep.Objects != 2 || rep.Healthy != 1 || len(rep.Problems) != 1 {
				t.Fatalf("report = %+v, want one problem", rep)
			}
			p := rep.Problems[0]
			id := envelope.ObjectID("plugins/x", "bad")
			if p.Kind != tt.kind || p.ObjectID != id || !strings.Contains(p.Detail, tt.detail) || p.Hint == "" {
				t.Fatalf("problem = %+v, want kind %s on %s saying %q, with a hint", p, tt.kind, id, tt.detail)
			}
			if named := p.Scope == "plugins/x" && p.Key == "bad"; named != tt.wantNamed {
				t.Fatalf("problem names %q/%q; want named=%v", p.Scope, p.Key, tt.wantNamed)
			}
			if hashTree(t, cfg.Root) != before {
				t.Fatal("Verify changed the vault")
			}
		})
	}
}

func TestVerifyReportsFilesThatAreWrong(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	mustPut(t, v, "global", "a", "v")
	objects := filepath.Join(cfg.Root, "objects")
	os.WriteFile(filepath.Join(objects, ".tmp-obj_dead-0123456789abcdef"), []byte("half"), 0o600)
	// Others can write the object: Verify's read refuses it (a mode
	// others can only read would be tightened by that read).
	os.Chmod(objectPath(cfg, "global", "a"), 0o646)
	os.Chmod(filepath.Join(cfg.Root, keySourceFile), 0o640)
	os.Chmod(DeviceKeyPath(cfg.StateRoot), 0o604)
	os.MkdirAll(filepath.Join(cfg.Root, "objects-dpapi"), 0o700)
	os.WriteFile(filepath.Join(cfg.Root, migrateFromFile), []byte("linux_secret_service\n"), 0o600)

	rep := verify(t, v)
	want := map[string]string{
		ProblemStrayTemp: ".tmp-obj_dead",
		ProblemMarker:    "migration",
	}
	// Mode bits are Unix: on Windows the chmods above change nothing Verify
	// could call unsafe, so only the stray temp file and the marker count.
	unixModes := runtime.GOOS != "windows"
	if unixModes {
		want[ProblemPermission] = "chmod 600"
	}
	for kind, frag := range want {
		ps := problemsOf(rep, kind)
		found := false
		for _, p := range ps {
			found = found || strings.Contains(p.Path+" "+p.Detail+" "+p.Hint, frag)
		}
		if !found {
			t.Errorf("no %s problem mentioning %q in %+v", kind, frag, rep.Problems)
		}
	}
	var paths []string
	for _, p := range problemsOf(rep, ProblemPermission) {
		paths = append(paths, p.Path)
	}
	if !unixModes && len(paths) != 0 {
		t.Errorf("permission problems %v on Windows, where mode bits mean nothing", paths)
	}
	for _, p := range []string{objectPath(cfg, "global", "a"), filepath.Join(cfg.Root, keySourceFile), DeviceKeyPath(cfg.StateRoot)} {
		if unixModes && !strings.Contains(strings.Join(paths, "\n"), p) {
			t.Errorf("permission problems %v miss %s", paths, p)
		}
	}
	if _, err := os.Stat(filepath.Join(objects, ".tmp-obj_dead-0123456789abcdef")); err != nil {
		t.Fatal("Verify removed the stray temp file; it must change nothing")
	}
}

func TestVerifyReportsAnInterruptedRotationAndAReplacedKey(t *testing.T) {
	cfg := testConfig(t)
	v := openTest(t, cfg)
	putMany(t, v, 3)
	ctx, cancel := context.WithCancel(context.Background())
	rotateHook = func(step string) {
		if step == "rewrapped" {
			cancel()
		}
	}
	v.RotateKey(ctx, KeySourceSpec{})
	rotateHook = nil
	rep := verify(t, v)
	if ps := problemsOf(rep, ProblemRotation); len(ps) != 1 || rep.Healthy != 3 {
		t.Fatalf("report = %+v, want one rotation problem and 3 healthy objects", rep)
	}
	rotate(t, v, KeySourceSpec{})
	v.Close()

	st := readState(t, cfg)
	os.WriteFile(filepath.Join(cfg.StateRoot, "keys", st.Active.File), bytes.Repeat([]byte{5}, 32), 0o600)
	rep = verify(t, openTest(t, cfg))
	if len(problemsOf(rep, ProblemKey)) != 1 || len(problemsOf(rep, ProblemWrongKey)) != 3 {
		t.Fatalf("report = %+v, want a key problem and three wrong-key objects", rep)
	}
}
