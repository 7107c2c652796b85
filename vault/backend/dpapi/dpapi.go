package dpapi

import (
	"errors"
	"fmt"

	"github.com/palyra/palyra-vault/internal/errwrap"
	"github.com/palyra/palyra-vault/vault/backend"
)

// DirName is the directory under the vault root that holds the object files.
const DirName = "objects-dpapi"

// MaxBlobSize is the largest blob Put accepts: 1 MiB. Sealed envelopes are
// far smaller; the bound keeps every read of an object file bounded too.
const MaxBlobSize = 1 << 20

// Description is the data description CryptProtectData records in each blob
// (visible to tools that inspect DPAPI blobs; it is not secret).
const Description = "palyra-vault"

// entropyPrefix starts the optional entropy of every blob; the object ID
// follows it. Changing it makes every existing object unreadable.
const entropyPrefix = "palyra-vault/windows_dpapi/v1\x00"

// fileMagic and fileVersion start every object file.
const (
	fileMagic   = "PVDP"
	fileVersion = 1
	headerLen   = len(fileMagic) + 1
)

// innerVersion is the byte that precedes the blob inside the protected data.
const innerVersion = 1

// maxProtectedOverhead bounds how many bytes CryptProtectData adds to its
// input (a header of a few hundred bytes, padding and a MAC); object files
// larger than header + MaxBlobSize + this are refused unread.
const maxProtectedOverhead = 64 << 10

// maxFileSize is the largest object file Get reads.
const maxFileSize = headerLen + 1 + MaxBlobSize + maxProtectedOverhead

// ErrCorrupt is wrapped by Get's error when an object file is not one this
// package wrote (bad magic or version, truncated) or when DPAPI refuses to
// decrypt it: the file was altered, moved from another object ID, or was
// protected by another user or on another machine.
var ErrCorrupt = errors.New("windows_dpapi object is corrupt or not decryptable by this user")

// errNotWindows is what New and Probe wrap on other operating systems.
var errNotWindows = errwrap.New("windows_dpapi is only available on Windows", backend.ErrUnavailable)

// Options tunes New. The zero value is the default.
type Options struct{}

// entropy returns the DPAPI optional entropy for id.
func entropy(id backend.ObjectID) []byte {
	return append([]byte(entropyPrefix), id...)
}

// encodeFile returns the bytes of an object file holding protected, the
// output of CryptProtectData.
func encodeFile(protected []byte) []byte {
	out := make([]byte, 0, headerLen+len(protected))
	out = append(out, fileMagic...)
	out = append(out, fileVersion)
	return append(out, protected...)
}

// decodeFile checks the header of an object file and returns the
// CryptProtectData output it holds, or an error wrapping ErrCorrupt.
func decodeFile(data []byte) ([]byte, error) {
	if len(data) < headerLen || string(data[:len(fileMagic)]) != fileMagic {
		return nil, fmt.Errorf("not a windows_dpapi object file (missing %q header): %w", fileMagic, ErrCorrupt)
	}
	if v := data[len(fileMagic)]; v != fileVersion {
		return nil, fmt.Errorf("unsupported windows_dpapi object version %d (this build reads version %d): %w", v, fileVersion, ErrCorrupt)
	}
	if len(data) == headerLen {
		return nil, fmt.Errorf("windows_dpapi object file is truncated after its header: %w", ErrCorrupt)
	}
	return data[headerLen:], nil
}

// innerEncode returns the plaintext handed to CryptProtectData for blob.
func innerEncode(blob []byte) []byte {
	return append([]byte{innerVersion}, blob...)
}

// innerDecode returns the blob inside the plaintext CryptUnprotectData
// returned, or an error wrapping ErrCorrupt.
func innerDecode(plain []byte) ([]byte, error) {
	if len(plain) == 0 || plain[0] != innerVersion {
		return nil, fmt.Errorf("decrypted windows_dpapi object does not start with version byte %d: %w", innerVersion, ErrCorrupt)
	}
	return plain[1:], nil
}
