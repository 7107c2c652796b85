package vault

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/palyra/palyra-vault/vault/backend"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// failingPutBackend fails every Put of one object, as a full disk or a
// keyring that stops answering would.
type failingPutBackend struct {
	backend.Backend
	id backend.ObjectID
}

var errPutRefused = errors.New("test backend: write refused")

func (f *failingPutBackend) Put(ctx context.Context, id backend.ObjectID, blob []byte) error {
	if id == f.id {
		return errPutRefused
	}
	return f.Backend.Put(ctx, id, blob)
}

func TestImportSecrets(t *testing.T) {
	ms := func(n int64) time.Time { return time.UnixMilli(n).UTC() }
	// held is in the vault before each case runs (written by
	// ImportSecrets itself, so its times are the imported ones).
	held := ForeignSecret{Scope: "global", Key: "held", Value: []byte("held-value"), Created: ms(1700000000123), Updated: ms(1700000500456)}
	fresh := ForeignSecret{Scope: "principal:Alice@Example.com", Key: "token", Value: []byte{0, 1, 2, 0xff, '\n'}, Created: ms(1700000001001), Updated: ms(1700000002999)}
	fresh2 := ForeignSecret{Scope: "channel:slack:acct-1", Key: "bot.token", Value: []byte{}, Created: ms(1), Updated: ms(2)}
	with := func(s ForeignSecret, edit func(*ForeignSecret)) ForeignSecret {
		s.Value = bytes.Clone(s.Value)
		edit(&s)
		return s
	}
	ref := func(s ForeignSecret) Ref { return Ref{Scope: s.Scope, Key: s.Key} }
	refs := func(ss ...ForeignSecret) []Ref {
		out := []Ref{}
		for _, s := range ss {
			out = append(out, ref(s))
		}
		return out
	}
	tests := []struct {
		name   string
		in     []ForeignSecret
		dryRun bool
		fail   *ForeignSecret // its write fails
		want   SecretsImportReport
		// wantErr, when set, is part of the error; nothing on disk may
		// change unless fail is set.
		wantErr string
		// stored are the secrets the vault must hold afterwards, byte
		// for byte and with these times.
		stored []ForeignSecret
		// absent are secrets the vault must not hold afterwards.
		absent []ForeignSecret
	}{
		{
			name:   "a new secret is written with its bytes and its times to the millisecond",
			in:     []ForeignSecret{fresh, fresh2},
			want:   SecretsImportReport{Imported: refs(fresh, fresh2), Unchanged: refs(), Conflicts: refs()},
			stored: []ForeignSecret{held, fresh, fresh2},
		},
		{
			name:   "a secret held with the same value and times is unchanged",
			in:     []ForeignSecret{held},
			want:   SecretsImportReport{Imported: refs(), Unchanged: refs(held), Conflicts: refs()},
			stored: []ForeignSecret{held},
		},
		{
			name:   "another value is a conflict, left alone",
			in:     []ForeignSecret{with(held, func(s *ForeignSecret) { s.Value = []byte("other") }), fresh},
			want:   SecretsImportReport{Imported: refs(fresh), Unchanged: refs(), Conflicts: refs(held)},
			stored: []ForeignSecret{held, fresh},
		},
		{
			name:   "the same value updated a millisecond later is a conflict, left alone",
			in:     []ForeignSecret{with(held, func(s *ForeignSecret) { s.Updated = s.Updated.Add(time.Millisecond) })},
			want:   SecretsImportReport{Imported: refs(), Unchanged: refs(), Conflicts: refs(held)},
			stored: []ForeignSecret{held},
		},
		{
			name:   "a dry run reports and writes nothing",
			in:     []ForeignSecret{fresh, held, with(held, func(s *ForeignSecret) { s.Key = "held2" })},
			dryRun: true,
			want:   SecretsImportReport{Imported: refs(fresh, with(held, func(s *ForeignSecret) { s.Key = "held2" })), Unchanged: refs(held), Conflicts: refs()},
			stored: []ForeignSecret{held},
			absent: []ForeignSecret{fresh},
		},
		{
			name:    "a name the grammar refuses stops the import before anything is written",
			in:      []ForeignSecret{fresh, {Scope: "principal:a\x01b", Key: "key", Value: []byte("x"), Created: ms(5), Updated: ms(5)}},
			want:    SecretsImportReport{Imported: refs(), Unchanged: refs(), Conflicts: refs()},
			wantErr: "importing: nothing was imported: ",
			stored:  []ForeignSecret{held},
			absent:  []ForeignSecret{fresh},
		},
		{
			name:    "a key the grammar refuses stops the import before anything is written",
			in:      []ForeignSecret{fresh, with(fresh2, func(s *ForeignSecret) { s.Key = "Bad/Key" })},
			want:    SecretsImportReport{Imported: refs(), Unchanged: refs(), Conflicts: refs()},
			wantErr: "nothing was imported",
			stored:  []ForeignSecret{held},
			absent:  []ForeignSecret{fresh},
		},
		{
			name:    "a value over the vault's limit stops the import before anything is written",
			in:      []ForeignSecret{fresh, with(fresh2, func(s *ForeignSecret) { s.Value = make([]byte, DefaultMaxSecretSize+1) })},
			want:    SecretsImportReport{Imported: refs(), Unchanged: refs(), Conflicts: refs()},
			wantErr: "more than this vault holds",
			stored:  []ForeignSecret{held},
			absent:  []ForeignSecret{fresh},
		},
		{
			name:    "a time no envelope holds stops the import before anything is written",
			in:      []ForeignSecret{fresh, with(fresh2, func(s *ForeignSecret) { s.Created = time.Time{} })},
			want:    SecretsImportReport{Imported: refs(), Unchanged: refs(), Conflicts: refs()},
			wantErr: "outside the years 1677 to 2262",
			stored:  []ForeignSecret{held},
			absent:  []ForeignSecret{fresh},
		},
		{
			name:    "a write that fails stops the import, naming the secret and what was written before it",
			in:      []ForeignSecret{fresh, fresh2},
			fail:    &fresh2,
			want:    SecretsImportReport{Imported: refs(fresh), Unchanged: refs(), Conflicts: refs()},
			wantErr: "importing vault://channel:slack:acct-1/bot.token (1 secrets were written before it): ",
			stored:  []ForeignSecret{held, fresh},
			absent:  []ForeignSecret{fresh2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := testConfig(t)
			v := openTest(t, cfg)
			if rep, err := v.ImportSecrets(ctx, []ForeignSecret{held}, false); err != nil || len(rep.Imported) != 1 {
				t.Fatalf("seeding: %+v, %v", rep, err)
			}
			if tt.fail != nil {
				v.backend = &failingPutBackend{Backend: v.backend, id: envelope.ObjectID(tt.fail.Scope, tt.fail.Key)}
			}
			before := hashTree(t, cfg.Root)
			rep, err := v.ImportSecrets(ctx, tt.in, tt.dryRun)
			if !reflect.DeepEqual(rep, tt.want) {
				t.Errorf("report = %+v, want %+v", rep, tt.want)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ImportSecrets: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("ImportSecrets = %v, want an error saying %q", err, tt.wantErr)
			}
			if tt.fail != nil && !errors.Is(err, errPutRefused) {
				t.Errorf("error %v does not wrap the backend's", err)
			}
			if err != nil && strings.Contains(err.Error(), "held-value") {
				t.Errorf("error %q shows a secret", err)
			}
			if (tt.wantErr != "" && tt.fail == nil || tt.dryRun) && hashTree(t, cfg.Root) != before {
				t.Error("a refused import or a dry run changed the vault")
			}
			for _, s := range tt.stored {
				val, meta, err := v.Get(ctx, s.Scope, s.Key)
				if err != nil {
					t.Fatalf("Get(%s): %v", ref(s), err)
				}
				if !bytes.Equal(val.Reveal(), s.Value) {
					t.Errorf("%s holds other bytes than %q", ref(s), s.Value)
				}
				if !meta.Created.Equal(s.Created) || !meta.Updated.Equal(s.Updated) || meta.Created.UnixMilli() != s.Created.UnixMilli() {
					t.Errorf("%s: times %s / %s, want %s / %s", ref(s), meta.Created, meta.Updated, s.Created, s.Updated)
				}
			}
			for _, s := range tt.absent {
				if _, _, err := v.Get(ctx, s.Scope, s.Key); !errors.Is(err, ErrNotFound) {
					t.Errorf("Get(%s) = %v, want ErrNotFound", ref(s), err)
				}
			}
			// Running the same import again changes nothing: what was
			// imported is now unchanged.
			if err == nil && !tt.dryRun {
				before := hashTree(t, cfg.Root)
				again, err := v.ImportSecrets(ctx, tt.in, false)
				if err != nil || len(again.Imported) != 0 || len(again.Unchanged) != len(rep.Imported)+len(rep.Unchanged) {
					t.Errorf("second import = %+v, %v; want everything unchanged or a conflict", again, err)
				}
				if hashTree(t, cfg.Root) != before {
					t.Error("a second import changed the vault")
				}
			}
		})
	}
}
