package backend

import "strings"

// MarkerPrefix starts the backend.kind marker that this module writes:
// "palyra-vault:" then the kind and a LF, for example
// "palyra-vault:encrypted_file\n". The Rust Palyra (crate palyra-vault,
// backend.rs, BackendKind::parse) accepts only a bare kind name in that
// file, so it refuses a directory of ours instead of adopting it and
// merging our objects into its own store (docs/FORMAT.md, "On-disk layout
// of a vault").
const MarkerPrefix = "palyra-vault:"

// Marker returns the content of the backend.kind marker for k, in the
// current form: MarkerPrefix, k, LF.
func Marker(k Kind) []byte { return []byte(MarkerPrefix + string(k) + "\n") }

// ParseMarker returns the kind that the content of a backend.kind marker
// names, ignoring ASCII white space around it, and whether the marker is in
// the legacy form: a bare kind name, which this module wrote before
// MarkerPrefix and which the Rust Palyra writes. It does not check that the
// kind is one this module knows.
func ParseMarker(b []byte) (k Kind, legacy bool) {
	s := strings.TrimSpace(string(b))
	if rest, ok := strings.CutPrefix(s, MarkerPrefix); ok {
		return Kind(rest), false
	}
	return Kind(s), true
}
