package dpapi

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestDecodeFileReturnsWhatEncodeFileWrapped(t *testing.T) {
	for _, protected := range [][]byte{{0}, []byte("dpapi output"), bytes.Repeat([]byte{0xff}, 1000)} {
		got, err := decodeFile(encodeFile(protected))
		if err != nil || !bytes.Equal(got, protected) {
			t.Fatalf("decodeFile(encodeFile(%d bytes)) = %d bytes, %v", len(protected), len(got), err)
		}
	}
}

func TestDecodeFileRefusesForeignFiles(t *testing.T) {
	tests := []struct {
		name, data, wantMsg string
	}{
		{"empty", "", "missing \"PVDP\" header"},
		{"short", "PVD", "missing \"PVDP\" header"},
		{"other magic", "PKZP\x01data", "missing \"PVDP\" header"},
		{"version 0", "PVDP\x00data", "unsupported windows_dpapi object version 0"},
		{"version 2", "PVDP\x02data", "unsupported windows_dpapi object version 2"},
		{"header only", "PVDP\x01", "truncated after its header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeFile([]byte(tc.data))
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("decodeFile(%q) = %v; want ErrCorrupt saying %q", tc.data, err, tc.wantMsg)
			}
		})
	}
}

func TestInnerDecodeReturnsWhatInnerEncodeWrapped(t *testing.T) {
	for _, blob := range [][]byte{{}, {innerVersion}, []byte("sealed envelope")} {
		got, err := innerDecode(innerEncode(blob))
		if err != nil || !bytes.Equal(got, blob) {
			t.Fatalf("innerDecode(innerEncode(%q)) = %q, %v", blob, got, err)
		}
	}
}

func TestInnerDecodeRefusesMissingVersionByte(t *testing.T) {
	for _, plain := range []string{"", "\x00blob", "\x02blob", "sealed envelope"} {
		if _, err := innerDecode([]byte(plain)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("innerDecode(%q) = %v; want ErrCorrupt", plain, err)
		}
	}
}

func TestEntropyDiffersPerObjectID(t *testing.T) {
	a, b := entropy("obj_a"), entropy("obj_b")
	if bytes.Equal(a, b) || !bytes.HasPrefix(a, []byte(entropyPrefix)) {
		t.Fatalf("entropy(obj_a) = %q, entropy(obj_b) = %q: want distinct, both starting with the package constant", a, b)
	}
}
