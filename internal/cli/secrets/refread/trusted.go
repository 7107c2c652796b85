package refread

import (
	"path/filepath"
	"strings"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
)

// CheckTrustedDirs returns a usage error unless every --trusted-dir is an
// absolute path or starts with "~/".
func CheckTrustedDirs(dirs []string) error {
	for _, d := range dirs {
		if !strings.HasPrefix(d, "~/") && !filepath.IsAbs(d) {
			return clierr.UsageErrorf("--trusted-dir %q: must be an absolute path (or start with ~/)", d)
		}
	}
	return nil
}
