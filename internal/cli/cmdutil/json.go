package cmdutil

import (
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
	var b []byte
	var err error
	if pretty {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return fmt.Errorf("encoding JSON: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	return nil
}
