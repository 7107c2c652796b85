package cmdutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/palyra/palyra-vault/internal/iostreams"
)

// PrintJSON writes v as JSON to ios.Out: indented when stdout is a
// terminal, one line otherwise or when ios.CompactJSON is set (the global
// --output-format ndjson).
func PrintJSON(ios *iostreams.IOStreams, v any) error {
	return WriteJSON(ios.Out, v, ios.IsStdoutTTY() && !ios.CompactJSON)
}

// WriteJSON writes v as JSON followed by a newline: indented for people when
// pretty is true (stdout is a terminal), one line otherwise.
func WriteJSON(w io.Writer, v any, pretty bool) error {
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
