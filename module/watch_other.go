//go:build !linux

package restlink

import (
	"io/fs"
	"os"
)

// stamper stamps files as the periodic check does, following symlinks.
type stamper struct{}

// stamp is the stamp of the file at path; missing if it cannot be stat'ed.
func (*stamper) stamp(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{missing: true}
	}
	return stampOf(fi)
}

// stampOf is the stamp of a file stat'ed by os.Stat. Files cannot be told
// apart outside Linux: size, modification time and mode alone say whether
// a file changed.
func stampOf(fi fs.FileInfo) fileStamp {
	return fileStamp{size: fi.Size(), modTime: fi.ModTime().UnixNano(), mode: uint32(fi.Mode())}
}
