//go:build unix

package vault

import (
	"crypto/rand"
	"encoding/hex"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// rawDurableWrite replaces path with data durably using bare system calls
// and nothing of this module: the least a durable atomic write costs.
func rawDurableWrite(path string, data []byte) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path + ".raw-" + hex.EncodeToString(rnd[:])
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	if _, err := unix.Write(fd, data); err != nil {
		unix.Close(fd)
		return err
	}
	if err := unix.Fsync(fd); err != nil {
		unix.Close(fd)
		return err
	}
	if err := unix.Close(fd); err != nil {
		return err
	}
	if err := unix.Rename(tmp, path); err != nil {
		return err
	}
	dfd, err := unix.Open(filepath.Dir(path), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	return unix.Fsync(dfd)
}
