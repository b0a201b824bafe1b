package restlink

import (
	"hash/maphash"
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
	seed   maphash.Seed // of the stamps' sums
	epoch  time.Time    // of readAt
}

// secretFile is a file as last read: 32 bytes, where its stamp alone
// took 56. stampSum is a hash of its stamp (see fileStamp.write): a
// change that left it as it was (one in 2^64) is read within
// secretReread all the same. Its content is a string of its exact size,
// which the key made of it shares: the buffer it was read into (512 bytes
// at least) is not kept. readAt is when it was read, since epoch.
type secretFile struct {
	stampSum uint64
	content  string
	readAt   time.Duration
}

// read returns the content of the file at path, stat'ed as fi: what was
// read before if its stamp is the same and recent, else read anew with
// readAtMost(path, limit).
func (c *secretFiles) read(path string, fi fs.FileInfo, limit int64, now time.Time) (string, error) {
	stamp := stampOf(fi)
	var sum uint64
	if c != nil {
		c.mu.Lock()
		if c.epoch.IsZero() {
			c.seed, c.epoch = maphash.MakeSeed(), now
		}
		if c.byPath == nil {
			c.byPath = make(map[string]secretFile)
		}
		var h maphash.Hash
		h.SetSeed(c.seed)
		stamp.write(&h)
		sum = h.Sum64()
		f, ok := c.byPath[path]
		c.mu.Unlock()
		if ok && f.stampSum == sum && now.Sub(c.epoch)-f.readAt < secretReread {
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
	c.byPath[path] = secretFile{stampSum: sum, content: content, readAt: now.Sub(c.epoch)}
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
