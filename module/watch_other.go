//go:build !unix

package restlink

import "io/fs"

// fileID cannot tell files apart here: size, modification time and mode
// alone say whether a file changed.
func fileID(fs.FileInfo) [2]uint64 { return [2]uint64{} }
