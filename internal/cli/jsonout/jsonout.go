// Package jsonout writes a command's JSON result: indented for people on a
// terminal, one line for pipes, with <, > and & as themselves.
package jsonout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/palyra/palyra-vault/internal/cli/clierr"
	"github.com/palyra/palyra-vault/internal/iostreams"
)

// Print writes v as JSON to ios.Out: indented when stdout is a
// terminal, one line otherwise or when ios.CompactJSON is set (the global
// --output-format ndjson).
func Print(ios *iostreams.IOStreams, v any) error {
	return Write(ios.Out, v, ios.IsStdoutTTY() && !ios.CompactJSON)
}

// Write writes v as JSON followed by a newline: indented for people when
// pretty is true (stdout is a terminal), one line otherwise.
func Write(w io.Writer, v any, pretty bool) error {
	// As serde_json writes it (Palyra's CLI): <, > and & as themselves,
	// not as \u003c escapes meant for HTML.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if pretty {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}

// OutputFormat reads the value of the global --output-format flag (text,
// the default; json, as --json; ndjson, as --json on one line) and returns
// whether it asks for JSON and whether that JSON must be one line even on
// a terminal (iostreams.IOStreams.CompactJSON). Any other value is a usage
// error.
func OutputFormat(format string) (json, compact bool, err error) {
	switch format {
	case "text":
		return false, false, nil
	case "json":
		return true, false, nil
	case "ndjson":
		return true, true, nil
	}
	return false, false, clierr.UsageErrorf("--output-format: must be text, json or ndjson")
}
