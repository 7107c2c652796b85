package main

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/palyra/palyra-vault/vault/palyrars/rustfixture"
	"github.com/rogpeppe/go-internal/testscript"
)

// cmdRustvault writes, under the state root DIR, a vault as the Rust
// Palyra writes it (package rustfixture: DIR/identity and DIR/vault):
//
//	rustvault DIR [-legacy] [-bad-name] [-damaged] [-secret-service]
//
// It holds global/openai_api_key = "sk-test-123" (created
// 2023-11-14T22:13:20.123Z, updated 2023-11-14T22:21:40.456Z),
// principal:Alice@Example.com/token = "tok-alice" and
// channel:slack:acct-1/bot.token = "xoxb-1"; -bad-name adds
// principal:a<U+0001>b/key, a scope the crate takes and this module refuses;
// -damaged adds skill:extractor/broken whose ciphertext is altered; -legacy
// writes one objects/obj_* file per secret instead of objects.store.json;
// -secret-service writes backend linux_secret_service, its items made with
// secret-tool on the script's $DBUS_SESSION_BUS_ADDRESS as the crate makes
// them.
func cmdRustvault(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: rustvault DIR [-legacy] [-bad-name] [-damaged] [-secret-service]")
	}
	opts := rustfixture.Options{StateRoot: ts.MkAbs(args[0]), Secrets: []rustfixture.Secret{
		{Scope: "global", Key: "openai_api_key", Value: []byte("sk-test-123"), Created: 1700000000123, Updated: 1700000500456},
		{Scope: "principal:Alice@Example.com", Key: "token", Value: []byte("tok-alice"), Created: 1700000001000},
		{Scope: "channel:slack:acct-1", Key: "bot.token", Value: []byte("xoxb-1"), Created: 1700000002000},
	}}
	damaged := false
	for _, a := range args[1:] {
		switch a {
		case "-legacy":
			opts.Layout = rustfixture.Legacy
		case "-bad-name":
			opts.Secrets = append(opts.Secrets, rustfixture.Secret{Scope: "principal:a\x01b", Key: "key", Value: []byte("x"), Created: 1700000003000})
		case "-secret-service":
			opts.Kind = "linux_secret_service"
			opts.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+ts.Getenv("DBUS_SESSION_BUS_ADDRESS"))
		case "-damaged":
			damaged = true
			opts.Layout = rustfixture.Legacy
			opts.Secrets = append(opts.Secrets, rustfixture.Secret{Scope: "skill:extractor", Key: "broken", Value: []byte("y"), Created: 1700000004000})
		default:
			ts.Fatalf("rustvault: unknown option %q", a)
		}
	}
	f, err := rustfixture.Write(opts)
	ts.Check(err)
	if damaged {
		p := filepath.Join(f.VaultRoot, "objects", rustfixture.ObjectID("skill:extractor", "broken"))
		b, err := os.ReadFile(p)
		ts.Check(err)
		const field = `"secret_mac_b64":"`
		i := strings.Index(string(b), field) + len(field)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		ts.Check(os.WriteFile(p, b, 0o600))
	}
}

// cmdTreehash writes to FILE one line per entry under each DIR (path,
// mode, SHA-256 of a file), so that "cmp" proves nothing changed there:
//
//	treehash FILE DIR...
func cmdTreehash(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: treehash FILE DIR...")
	}
	var lines []string
	for _, d := range args[1:] {
		root := ts.MkAbs(d)
		ts.Check(filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			line := fmt.Sprintf("%s/%s %v", d, filepath.ToSlash(rel), fi.Mode())
			if fi.Mode().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				line += fmt.Sprintf(" %x", sha256.Sum256(b))
			}
			lines = append(lines, line)
			return nil
		}))
	}
	sort.Strings(lines)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(strings.Join(lines, "\n")+"\n"), 0o600))
}
