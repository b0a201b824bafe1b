//go:build unix

package restlink

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// readAtMost reads the file at path, failing if it holds more than limit
// bytes (it may have grown since it was last looked at).
//
// It opens, reads and closes the file with system calls of its own: os.Open
// also stats the file and makes it non-blocking for Go's poller, which a
// regular file read once does not need, and with 10,000 key files those
// calls were a third of the time spent reading them at start-up.
func readAtMost(path string, limit int64) ([]byte, error) {
	var fd int
	err := retryInterrupted(func() (err error) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	b := make([]byte, 0, min(limit+1, 512))
	for {
		if int64(len(b)) > limit {
			return nil, fmt.Errorf("%s holds more than %d bytes; it is not read", path, limit)
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // room to read into
		}
		var n int
		err := retryInterrupted(func() (err error) {
			n, err = unix.Read(fd, b[len(b):min(int64(cap(b)), limit+1)])
			return err
		})
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return b, nil
		}
		b = b[:len(b)+n]
	}
}

// retryInterrupted calls call again while it fails with EINTR, as the os
// package does for the calls it makes.
func retryInterrupted(call func() error) error {
	for {
		if err := call(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
