package shared

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/palyra/palyra-vault/config"
	"github.com/palyra/palyra-vault/internal/cli/cmdutil"
	"github.com/spf13/cobra"
)

// AddConfigPathFlags defines --config FILE and --path FILE, Palyra's name
// for the same flag, on a verb that reads palyra.toml. ConfigPathFlag reads
// them.
func AddConfigPathFlags(cmd *cobra.Command) {
	cmd.Flags().String("config", "", "configuration `FILE` (default $"+config.EnvConfig+", else palyra/palyra.toml in the user config directory)")
	cmd.Flags().String("path", "", "same as --config (Palyra's name for it)")
}

// ConfigPathFlag returns the file --config or --path names, "" when
// neither is given (config.Find then chooses). Both naming different files
// is a usage error.
func ConfigPathFlag(cmd *cobra.Command) (string, error) {
	c, _ := cmd.Flags().GetString("config")
	p, _ := cmd.Flags().GetString("path")
	switch {
	case c != "" && p != "" && c != p:
		return "", cmdutil.UsageErrorf("--config and --path name the same setting, the configuration file: give one")
	case c != "":
		return c, nil
	}
	return p, nil
}

// LoadConfig finds (config.Find) and reads the configuration file a verb
// names with --config or --path; a file that does not exist is an error
// with a hint.
func LoadConfig(explicit string) (*config.Document, error) {
	loc, err := config.Find(explicit)
	if err != nil {
		return nil, err
	}
	doc, err := config.Load(loc.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, cmdutil.WithHints(fmt.Errorf("no configuration file at %s", loc.Path),
			"name the file with --config (or --path), or set $"+config.EnvConfig)
	}
	return doc, err
}
