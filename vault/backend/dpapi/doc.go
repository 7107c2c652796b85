// Package dpapi implements the windows_dpapi backend: each sealed envelope
// is protected with the Windows Data Protection API (CryptProtectData) for
// the current user and kept as one file under the vault root.
//
// On disk, under the vault root:
//
//	objects-dpapi/            owner-only protected DACL (current user SID,
//	                          full control, inherited by new files)
//	  obj_<64 hex>            one object: "PVDP", version byte 1, then the
//	                          CryptProtectData output, whose plaintext is
//	                          the byte 1 followed by the blob
//	  .tmp-obj_<64 hex>-<hex> a write in progress (ignored by List; left by a
//	                          killed writer, removed by RemoveStaleTemps)
//
// The byte before the blob lets an empty blob be stored (DPAPI refuses empty
// input on some implementations) and is checked when decrypting.
//
// Every blob is protected with CRYPTPROTECT_UI_FORBIDDEN, the description
// "palyra-vault" and an entropy made of a constant of this package followed
// by the object ID, so a file copied or renamed to another object ID fails
// to decrypt instead of returning another object's blob. Windows binds the
// protection to the user's logon credentials: another user, or the same
// files on another machine, cannot decrypt them. Object files are written
// with fsutil.WriteFileAtomicSD: a temporary file in the same directory,
// created with the owner-only DACL, flushed with FlushFileBuffers and
// renamed over the object (through the open handle with POSIX semantics
// where Windows supports it, so readers holding the old file do not block
// the write; else with MoveFileEx, retried briefly while a reader's handle
// blocks it). A reader sees the old blob or the new one, and an
// acknowledged Put survives a crash. Reads use fsutil.ReadFileLimited,
// which shares delete access and never opens a reparse point.
//
// The backend exists only on Windows. On other systems New and Probe return
// an error wrapping backend.ErrUnavailable. Its tests run as Windows
// binaries under Wine (scripts/wine-go-test.sh); what Wine cannot show
// (binding to the user, enforced ACLs) is tested only on real Windows.
package dpapi
