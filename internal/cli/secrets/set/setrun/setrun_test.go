package setrun

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/palyra/palyra-vault/internal/cli/clitest"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault"
)

func TestSetReadsStdinExactly(t *testing.T) {
	tests := []struct {
		name, in, want string
		trim           bool
	}{
		{"bytes kept", "sk-1\n", "sk-1\n", false},
		{"one newline trimmed", "sk-1\n\n", "sk-1\n", true},
		{"crlf trimmed", "sk-1\r\n", "sk-1", true},
		{"no newline to trim", "sk-1", "sk-1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, open := clitest.Vault(t)
			ios, in, out, _ := iostreams.Test()
			in.WriteString(tt.in)
			ref := secret.Ref{Scope: "global", Key: "k"}
			if err := Run(context.Background(), &Options{IO: ios, Vault: open, Ref: ref, TrimNewline: tt.trim}); err != nil {
				t.Fatal(err)
			}
			got, _, err := v.Get(context.Background(), "global", "k")
			if err != nil || string(got.Reveal()) != tt.want {
				t.Fatalf("stored %q, %v; want %q", got.Reveal(), err, tt.want)
			}
			if strings.Contains(out.String(), "sk-1") {
				t.Fatalf("output shows the value: %q", out)
			}
		})
	}
}

func TestSetKeepsCreationTimeOnUpdate(t *testing.T) {
	v, open := clitest.Vault(t)
	ctx := context.Background()
	first, err := v.Put(ctx, "global", "k", []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	ios, in, out, _ := iostreams.Test()
	in.WriteString("new")
	if err := Run(ctx, &Options{IO: ios, Vault: open, Ref: secret.Ref{Scope: "global", Key: "k"}, JSON: true}); err != nil {
		t.Fatal(err)
	}
	md, err := v.Stat(ctx, "global", "k")
	if err != nil {
		t.Fatal(err)
	}
	if !md.Created.Equal(first.Created) || md.Updated.Before(first.Updated) || md.Size != 3 {
		t.Fatalf("after update %+v; want created=%v, updated not before %v, size 3", md, first.Created, first.Updated)
	}
	if !strings.Contains(out.String(), `"size":3`) || strings.Contains(out.String(), "new") {
		t.Fatalf("JSON output %q: want size 3 and no value", out)
	}
}

func TestSetRefusesBadValuesAndStoresNothing(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		trim    bool
		wantErr string
		wantIs  error
	}{
		{"empty", "", false, "empty value on stdin", nil},
		{"only a newline, trimmed", "\n", true, "empty value on stdin after --trim-newline", nil},
		{"one byte too large", strings.Repeat("v", vault.DefaultMaxSecretSize+1), false, "more than 65536 bytes", vault.ErrTooLarge},
		{"too large after trimming", strings.Repeat("v", vault.DefaultMaxSecretSize+1) + "\n", true, "more than 65536 bytes", vault.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, open := clitest.Vault(t)
			ios, in, out, errOut := iostreams.Test()
			in.WriteString(tt.in)
			err := Run(context.Background(), &Options{IO: ios, Vault: open, Ref: secret.Ref{Scope: "global", Key: "k"}, TrimNewline: tt.trim})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "nothing was stored") {
				t.Fatalf("error = %v, want %q and \"nothing was stored\"", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("error %v does not wrap %v", err, tt.wantIs)
			}
			if strings.Contains(err.Error(), "vvvv") || out.Len() != 0 || errOut.Len() != 0 {
				t.Fatalf("value or output leaked: err=%v out=%q errOut=%q", err, out, errOut)
			}
			if items, err := v.List(context.Background(), ""); err != nil || len(items) != 0 {
				t.Fatalf("vault holds %v, %v; want nothing", items, err)
			}
		})
	}
}

// prompter answers successive prompts with answers and records the prompts.
type prompter struct {
	answers []string
	prompts []string
}

func (p *prompter) read(prompt string) ([]byte, error) {
	p.prompts = append(p.prompts, prompt)
	if len(p.answers) == 0 {
		return nil, errors.New("reading from the terminal: end of input")
	}
	a := p.answers[0]
	p.answers = p.answers[1:]
	return []byte(a), nil
}

func TestSetOnATerminalPromptsTwice(t *testing.T) {
	tests := []struct {
		name      string
		answers   []string
		wantValue string // "" means nothing stored
		wantErr   string
	}{
		{"matching entries are stored", []string{"sk-typed", "sk-typed"}, "sk-typed", ""},
		{"mismatch stores nothing", []string{"sk-typed", "sk-typo"}, "", "the two entries differ; nothing was stored"},
		{"empty first entry stores nothing", []string{""}, "", "empty value; nothing was stored"},
		{"input ends after one entry", []string{"sk-typed"}, "", "end of input; nothing was stored"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, open := clitest.Vault(t)
			ios, _, _, errOut := iostreams.Test()
			ios.SetStdinTTY(true)
			p := &prompter{answers: tt.answers}
			ios.SetSecretPrompter(p.read)
			err := Run(context.Background(), &Options{IO: ios, Vault: open, Ref: secret.Ref{Scope: "global", Key: "k"}})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "sk-typ") || strings.Contains(errOut.String(), "sk-typ") {
					t.Fatalf("value leaked: err=%v errOut=%q", err, errOut)
				}
				if _, _, err := v.Get(context.Background(), "global", "k"); !errors.Is(err, vault.ErrNotFound) {
					t.Fatalf("after a refused entry Get error = %v, want not found", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.prompts) != 2 || p.prompts[0] != "Value for vault://global/k: " {
				t.Fatalf("prompts = %q, want two starting with the ref", p.prompts)
			}
			got, _, err := v.Get(context.Background(), "global", "k")
			if err != nil || string(got.Reveal()) != tt.wantValue {
				t.Fatalf("stored %q, %v; want %q", got.Reveal(), err, tt.wantValue)
			}
		})
	}
}

func TestSetValueStdinReadsStdinEvenOnATerminal(t *testing.T) {
	v, open := clitest.Vault(t)
	ios, in, _, _ := iostreams.Test()
	ios.SetStdinTTY(true)
	ios.SetSecretPrompter(func(string) ([]byte, error) { t.Fatal("prompted despite --value-stdin"); return nil, nil })
	in.WriteString("from-stdin")
	if err := Run(context.Background(), &Options{IO: ios, Vault: open, Ref: secret.Ref{Scope: "global", Key: "k"}, ValueStdin: true}); err != nil {
		t.Fatal(err)
	}
	got, _, err := v.Get(context.Background(), "global", "k")
	if err != nil || string(got.Reveal()) != "from-stdin" {
		t.Fatalf("stored %q, %v; want %q", got.Reveal(), err, "from-stdin")
	}
}
