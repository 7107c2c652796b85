package cmdutil

import (
	"encoding/json"
	"fmt"
	"io"
)

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
