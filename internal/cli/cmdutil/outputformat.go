package cmdutil

import (
	"github.com/palyra/palyra-vault/internal/cli/jsonout"
	"github.com/palyra/palyra-vault/internal/iostreams"
	"github.com/spf13/cobra"
)

// JSONNeedsAnnotation is the key of a command's annotation naming the
// boolean flag its --json depends on ("dry-run" for run, whose --json
// shapes only the --dry-run report): --output-format json sets --json only
// when that flag is on, and the command otherwise prints as without it.
const JSONNeedsAnnotation = "palyra/json-needs"

// OutputFormatFlag is the name of the global flag that Palyra's CLI calls
// --output-format: text (the default), json or ndjson.
const OutputFormatFlag = "output-format"

// AddOutputFormatFlag defines --output-format as a persistent flag of
// root, so every command takes it, before or after its verb.
func AddOutputFormatFlag(root *cobra.Command) {
	root.PersistentFlags().String(OutputFormatFlag, "text", "output format of every command: text, json (as --json) or ndjson (as --json, one line per object)")
	_ = root.RegisterFlagCompletionFunc(OutputFormatFlag, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"text", "json", "ndjson"}, cobra.ShellCompDirectiveNoFileComp
	})
}

// ApplyOutputFormat makes --output-format take effect for cmd, the command
// that runs: json and ndjson set its --json flag when it has one (and it
// was not given, and the flag its JSONNeedsAnnotation names is on), and ndjson makes JSON one line even on a terminal. A
// command without --json prints text whatever the format, as Palyra's
// commands without a JSON form do. Every pre-run hook of a command group
// calls it (cobra runs only the nearest).
func ApplyOutputFormat(cmd *cobra.Command, ios *iostreams.IOStreams) error {
	f := cmd.Flags().Lookup(OutputFormatFlag)
	if f == nil {
		return nil
	}
	json, compact, err := jsonout.OutputFormat(f.Value.String())
	if err != nil || !json {
		return err
	}
	if compact {
		ios.CompactJSON = true
	}
	if dep := cmd.Annotations[JSONNeedsAnnotation]; dep != "" {
		if d := cmd.Flags().Lookup(dep); d != nil && d.Value.String() != "true" {
			return nil
		}
	}
	if j := cmd.Flags().Lookup("json"); j != nil && !j.Changed && j.Value.Type() == "bool" {
		return cmd.Flags().Set(j.Name, "true")
	}
	return nil
}
