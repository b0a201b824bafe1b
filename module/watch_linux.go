//go:build linux

package restlink

import (
	"errors"
	"io/fs"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// stamper stamps files as the periodic check does, following symlinks,
// without allocating: it runs every watchPoll over every key file, and
// with 10,000 of them os.Stat made 3 MB of garbage each time (a FileInfo,
// its name and the path's C string per file), which kept an idle
// sidecar's heap at twice its live size. It writes each path's C string
// into room of its own, and calls statx itself; where statx is missing
// (before Linux 4.11) or refused (a seccomp profile), it falls back to
// stat. Used by one goroutine.
type stamper struct {
	cpath  []byte
	noStat bool // statx is not available
}

// stamp is the stamp of the file at path; missing if it cannot be stat'ed.
func (s *stamper) stamp(path string) fileStamp {
	if !s.noStat {
		s.cpath = append(append(s.cpath[:0], path...), 0)
		var stx unix.Statx_t
		dir := unix.AT_FDCWD
		errno := unix.EINTR
		for errno == unix.EINTR { // as os.Stat retries (a signal on a network file system)
			_, _, errno = unix.Syscall6(unix.SYS_STATX, uintptr(dir), uintptr(unsafe.Pointer(&s.cpath[0])),
				0, unix.STATX_BASIC_STATS, uintptr(unsafe.Pointer(&stx)), 0)
		}
		switch {
		case errno == 0:
			return fileStamp{
				size:    int64(stx.Size),
				modTime: stx.Mtime.Sec*1e9 + int64(stx.Mtime.Nsec),
				mode:    uint32(stx.Mode),
				id:      fileID(unix.Mkdev(stx.Dev_major, stx.Dev_minor), stx.Ino, stx.Ctime.Sec, int64(stx.Ctime.Nsec)),
			}
		case errors.Is(errno, unix.ENOSYS) || errors.Is(errno, unix.EPERM):
			s.noStat = true
		default:
			return fileStamp{missing: true}
		}
	}
	var st syscall.Stat_t
	if err := retryInterrupted(func() error { return syscall.Stat(path, &st) }); err != nil {
		return fileStamp{missing: true}
	}
	return stampOfStat(&st)
}

// stampOf is the stamp of a file stat'ed by os.Stat.
func stampOf(fi fs.FileInfo) fileStamp {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return stampOfStat(st)
	}
	return fileStamp{size: fi.Size(), modTime: fi.ModTime().UnixNano(), mode: uint32(fi.Mode())}
}

// stampOfStat is a file's stamp: its size, modification time and mode
// bits, and its identity (see fileID).
func stampOfStat(st *syscall.Stat_t) fileStamp {
	return fileStamp{
		size:    st.Size,
		modTime: st.Mtim.Nano(),
		mode:    st.Mode,
		id:      fileID(uint64(st.Dev), uint64(st.Ino), int64(st.Ctim.Sec), int64(st.Ctim.Nsec)),
	}
}

// fileID is a file's device, inode and status-change time: a file
// replaced by another (an atomic rename, a symlink swapped) is a different
// file even if its size and modification time are the same, and a change
// of owner, group or ACL (a key made readable again) changes the
// status-change time, not the modification time.
func fileID(dev, ino uint64, ctimeSec, ctimeNsec int64) [3]uint64 {
	return [3]uint64{dev, ino, uint64(ctimeSec)<<32 ^ uint64(ctimeNsec)}
}
