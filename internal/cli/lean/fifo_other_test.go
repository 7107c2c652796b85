//go:build !unix

package lean

import "errors"

func mkfifo(path string) error { return errors.New("no named pipes on this system") }
