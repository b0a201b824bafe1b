package restlink

import (
	"hash/maphash"
	"io/fs"
	"slices"
	"strings"
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
//
// The files of the config in use are a slice in path order, found by
// binary search: 48 bytes a file, where a map by path took 90 with its
// slack. A file read for the first time waits in added until forget,
// which a published snapshot calls, sorts it in.
type secretFiles struct {
	mu    sync.Mutex
	files []secretFile          // by path
	added map[string]secretFile // read since the last forget, not in files
	seed  maphash.Seed          // of the stamps' sums
	epoch time.Time             // of readAt
}

// secretFile is a file as last read. stampSum is a hash of its stamp
// (see fileStamp.write): a change that left it as it was (one in 2^64) is
// read within secretReread all the same. Its content is a string of its
// exact size, which the key made of it shares: the buffer it was read
// into (512 bytes at least) is not kept. readAt is when it was read,
// since epoch.
type secretFile struct {
	path     string
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
		var h maphash.Hash
		h.SetSeed(c.seed)
		stamp.write(&h)
		sum = h.Sum64()
		f, ok := c.lookup(path)
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
	f := secretFile{path: path, stampSum: sum, content: content, readAt: now.Sub(c.epoch)}
	if i, ok := c.index(path); ok {
		c.files[i] = f
		return content, nil
	}
	if c.added == nil {
		c.added = make(map[string]secretFile)
	}
	c.added[path] = f
	return content, nil
}

// index is where path is, or would be, in c.files.
func (c *secretFiles) index(path string) (int, bool) {
	return slices.BinarySearchFunc(c.files, path, func(f secretFile, path string) int { return strings.Compare(f.path, path) })
}

// lookup returns the file at path as last read, if it was.
func (c *secretFiles) lookup(path string) (secretFile, bool) {
	if i, ok := c.index(path); ok {
		return c.files[i], true
	}
	f, ok := c.added[path]
	return f, ok
}

// forget keeps the files in keep and drops the others, so that the cache
// holds only the files of the config in use.
func (c *secretFiles) forget(keep map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.files[:0]
	for _, f := range c.files {
		if keep[f.path] {
			kept = append(kept, f)
		}
	}
	clear(c.files[len(kept):]) // no content outlives its file
	files := kept
	if n := len(kept) + len(c.added); n > cap(kept) || n < cap(kept)/2 {
		files = make([]secretFile, len(kept), n)
		copy(files, kept)
	}
	for path, f := range c.added {
		if keep[path] {
			files = append(files, f)
		}
	}
	slices.SortFunc(files, func(a, b secretFile) int { return strings.Compare(a.path, b.path) })
	c.files, c.added = files, nil
}
