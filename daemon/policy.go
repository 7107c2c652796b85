package daemon

import (
	"fmt"
	"slices"
	"strings"

	"github.com/palyra/palyra-vault/resolve"
)

// principalPrefix starts a scope segment that belongs to one principal.
const principalPrefix = "principal:"

// principalSegment returns the principal id of the first segment of scope
// of the form "principal:<id>", or "" when there is none.
func principalSegment(scope string) string {
	for seg := range strings.SplitSeq(scope, "/") {
		if id, ok := strings.CutPrefix(seg, principalPrefix); ok {
			return id
		}
	}
	return ""
}

// allowedUID reports whether uid may call the daemon at all: it is the
// daemon's own uid or listed in allowed_uids.
func (s *Settings) allowedUID(self, uid uint32) bool {
	return uid == self || slices.Contains(s.AllowedUIDs, uid)
}

// principalOf returns the principal uid acts as, or "".
func (s *Settings) principalOf(uid uint32) string { return s.Principals[uid] }

// authorize decides whether a caller acting as principal ("" for none) may
// read ref. inConfig says whether ref is one of the configuration's own
// references. It returns nil, or the reason for a refusal (safe to send and
// log: it names scopes and principals, never a value or a non-vault
// reference's text).
//
// The rules, in order:
//  1. a vault scope with a segment "principal:<id>" is readable only by a
//     caller acting as <id>, whoever else asks and whatever the
//     configuration says;
//  2. the configuration's own references are readable;
//  3. a vault secret in one of the readable scopes (or below one) is
//     readable;
//  4. nothing else is.
func (s *Settings) authorize(principal string, ref resolve.Ref, inConfig bool) error {
	if ref.Source == resolve.SourceVault {
		scope := ref.Vault.Scope
		for seg := range strings.SplitSeq(scope, "/") {
			owner, ok := strings.CutPrefix(seg, principalPrefix)
			if !ok {
				continue
			}
			switch principal {
			case owner:
			case "":
				return fmt.Errorf("scope %q belongs to principal %q and the caller's uid is mapped to no principal (daemon.principals)", scope, owner)
			default:
				return fmt.Errorf("scope %q belongs to principal %q, not to the caller's principal %q", scope, owner, principal)
			}
		}
	}
	if inConfig {
		return nil
	}
	if ref.Source != resolve.SourceVault {
		return fmt.Errorf("%s references are resolved only when the configuration holds them (ask by path); vault references alone are resolved by their text", ref.Source)
	}
	scope := ref.Vault.Scope
	if id := principalSegment(scope); id != "" && id == principal {
		return nil
	}
	for _, root := range s.Scopes() {
		if scope == root || strings.HasPrefix(scope, root+"/") {
			return nil
		}
	}
	return fmt.Errorf("scope %q is not readable by reference: it is not in daemon.readable_scopes (%s) and the configuration holds no such reference",
		scope, strings.Join(s.Scopes(), ", "))
}
