// Package version says which palyra this is: the version and VCS revision
// that the build scripts stamp into the binary with the linker's -X flag
// (scripts/build.sh), else what the Go toolchain recorded in the binary's
// build information, else "(devel)" and "unknown". Nothing here runs until
// it is asked for.
package version

import (
	"runtime"
	"runtime/debug"
)

// Set by the linker, e.g.
//
//	-ldflags "-X github.com/palyra/palyra-vault/internal/version.version=v0.1.0-3-gabcdef0
//	          -X github.com/palyra/palyra-vault/internal/version.revision=abcdef0…"
//
// Empty when the build did not stamp them.
var (
	version  string
	revision string
)

// Unknown values, shown as they are rather than guessed.
const (
	// Devel is the version of a binary nobody stamped, as the Go toolchain
	// itself names it.
	Devel = "(devel)"
	// UnknownRevision is the revision of a binary built without VCS
	// information (outside a repository, or with -buildvcs=false) and not
	// stamped.
	UnknownRevision = "unknown"
)

// Info is what a binary knows about its own build.
type Info struct {
	// Version is the stamped version, else the main module's version from
	// the build information, else Devel.
	Version string
	// Revision is the stamped VCS revision, else vcs.revision from the
	// build information (with "-dirty" when vcs.modified says the work tree
	// had changes), else UnknownRevision.
	Revision string
	// Go is the Go toolchain that built the binary, e.g. "go1.26.8".
	Go string
}

// Get returns the build's Info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return get(version, revision, bi)
}

// get picks each field from the stamp, else from bi (which may be nil).
func get(stampedVersion, stampedRevision string, bi *debug.BuildInfo) Info {
	info := Info{Version: stampedVersion, Revision: stampedRevision, Go: runtime.Version()}
	if bi != nil {
		if info.Version == "" && bi.Main.Version != "" {
			info.Version = bi.Main.Version
		}
		if info.Revision == "" {
			var rev, modified string
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					modified = s.Value
				}
			}
			if rev != "" && modified == "true" {
				rev += "-dirty"
			}
			info.Revision = rev
		}
	}
	if info.Version == "" {
		info.Version = Devel
	}
	if info.Revision == "" {
		info.Revision = UnknownRevision
	}
	return info
}

// String returns the line "palyra --version" prints, without a newline:
// "palyra <version> (revision <revision>, <go version>)".
func (i Info) String() string {
	return "palyra " + i.Version + " (revision " + i.Revision + ", " + i.Go + ")"
}
