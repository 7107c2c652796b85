package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParseExplainsAByteOrderMark(t *testing.T) {
	_, err := Parse([]byte("\xEF\xBB\xBF[model_provider]\nopenai_api_key_vault_ref = \"vault://global/k\"\n"))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 1 || !strings.Contains(err.Error(), "byte-order mark") {
		t.Fatalf("Parse of a file with a BOM = %v", err)
	}
}
