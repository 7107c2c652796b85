package vault

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/palyra/palyra-vault/internal/testutil"
	"github.com/palyra/palyra-vault/vault/backend"
)

func check(t *testing.T, checks []HostCheck, name string) HostCheck {
	t.Helper()
	for _, c := range checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check named %s in %+v", name, checks)
	return HostCheck{}
}

func TestDoctorExplainsAMissingSecretServiceAndPicksEncryptedFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("on Windows auto picks windows_dpapi and the os key source is DPAPI: the missing Secret Service fallback is Unix behaviour")
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(testutil.TempDir(t), "no-bus"))
	rep := Doctor(context.Background(), ConfigFromEnv())
	ss := check(t, rep.Backends, string(backend.KindSecretService))
	if ss.Available || ss.Reason == "" || ss.Advice == "" {
		t.Fatalf("secret service check = %+v, want unavailable with a reason and advice", ss)
	}
	if ef := check(t, rep.Backends, string(backend.KindEncryptedFile)); !ef.Available {
		t.Fatalf("encrypted_file unavailable: %+v", ef)
	}
	if rep.Auto != backend.KindEncryptedFile {
		t.Fatalf("auto = %s, want encrypted_file", rep.Auto)
	}
	if osk := check(t, rep.KeySources, KeySourceOS); osk.Available || osk.Advice == "" {
		t.Fatalf("os key source = %+v, want unavailable with advice", osk)
	}
}

func TestDoctorSeesTheRealSecretService(t *testing.T) {
	needPrivateKeyring(t)
	rep := Doctor(context.Background(), ConfigFromEnv())
	if ss := check(t, rep.Backends, string(backend.KindSecretService)); !ss.Available {
		t.Fatalf("secret service check = %+v", ss)
	}
	if osk := check(t, rep.KeySources, KeySourceOS); !osk.Available {
		t.Fatalf("os key source = %+v", osk)
	}
	if rep.Auto != backend.KindSecretService {
		t.Fatalf("auto = %s, want linux_secret_service", rep.Auto)
	}
}

func TestExistsSeesAVaultOnlyOnceCreated(t *testing.T) {
	cfg := testConfig(t)
	if ok, root, err := Exists(cfg); ok || err != nil || root != cfg.Root {
		t.Fatalf("Exists before Open = %v, %q, %v", ok, root, err)
	}
	openTest(t, cfg)
	if ok, _, err := Exists(cfg); !ok || err != nil {
		t.Fatalf("Exists after Open = %v, %v", ok, err)
	}
}
