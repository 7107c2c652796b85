package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestGet(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/palyra/palyra-vault", Version: "(devel)"}}
		if rev != "" {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs.revision", Value: rev})
		}
		if modified != "" {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: "vcs.modified", Value: modified})
		}
		return bi
	}
	tests := []struct {
		name             string
		version, rev     string
		bi               *debug.BuildInfo
		wantVer, wantRev string
	}{
		{"stamped wins over build info", "v1.2.3", "abc123", vcs("def456", "true"), "v1.2.3", "abc123"},
		{"stamped without build info", "v1.2.3", "abc123", nil, "v1.2.3", "abc123"},
		{"build info revision", "", "", vcs("def456", "false"), "(devel)", "def456"},
		{"build info revision of a modified tree", "", "", vcs("def456", "true"), "(devel)", "def456-dirty"},
		{"module version from build info", "", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}}, "v0.4.0", UnknownRevision},
		{"nothing recorded", "", "", vcs("", ""), Devel, UnknownRevision},
		{"no build info at all", "", "", nil, Devel, UnknownRevision},
		{"stamped version only", "v1.0.0", "", vcs("def456", ""), "v1.0.0", "def456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := get(tt.version, tt.rev, tt.bi)
			if got.Version != tt.wantVer || got.Revision != tt.wantRev || got.Go != runtime.Version() {
				t.Errorf("get = %+v, want version %q revision %q go %q", got, tt.wantVer, tt.wantRev, runtime.Version())
			}
		})
	}
}

func TestString(t *testing.T) {
	got := Info{Version: "v1.2.3", Revision: "abc123", Go: "go1.26.8"}.String()
	if want := "palyra v1.2.3 (revision abc123, go1.26.8)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
