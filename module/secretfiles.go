package restlink

import (
	"io/fs"
	"sync"
	"time"
)

// secretReread is how long a secret file read is trusted while its stat
// stays the same: past it, the file is read again whatever its stat says
// (a file system whose times are coarse, an edit that kept size and
// times).
const secretReread = time.Minute

// secretFiles remembers the secret files (keys, signing secrets, webhook
// secrets) a live config last read, so that a reload reads again only the
// files whose device, inode, size, modification time (ns), status-change
// time or mode changed, or that were read more than secretReread ago.
// With 10,000 key files, reading them all made up a third of a reload.
// A nil *secretFiles remembers nothing: every file is read. It is safe
// for concurrent use.
type secretFiles struct {
	mu     sync.Mutex
	byPath map[string]secretFile
}

// secretFile is a file as last read. Its content is a string of its
// exact size, which the key made of it shares: the buffer it was read
// into (512 bytes at least) is not kept.
type secretFile struct {
	stamp   fileStamp
	content string
	readAt  time.Time
}

// read returns the content of the file at path, stat'ed as fi: what was
// read before if its stamp is the same and recent, else read anew with
// readAtMost(path, limit).
func (c *secretFiles) read(path string, fi fs.FileInfo, limit int64, now time.Time) (string, error) {
	stamp := stampOf(fi)
	if c != nil {
		c.mu.Lock()
		f, ok := c.byPath[path]
		c.mu.Unlock()
		if ok && f.stamp == stamp && now.Sub(f.readAt) < secretReread {
			return f.content, nil
		}
	}
	b, err := readAtMost(path, limit)
	if err != nil {
		return "", err
	}
	content := string(b)
	if c == nil {
		return content, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byPath == nil {
		c.byPath = make(map[string]secretFile)
	}
	c.byPath[path] = secretFile{stamp: stamp, content: content, readAt: now}
	return content, nil
}

// forget drops the files not in keep, so that the cache holds only the
// files of the config in use.
func (c *secretFiles) forget(keep map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for path := range c.byPath {
		if !keep[path] {
			delete(c.byPath, path)
		}
	}
}
