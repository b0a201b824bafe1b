package restlink

import (
	"encoding/binary"
	"hash/maphash"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// Timing of file watching.
const (
	// watchDebounce is how long the files must be quiet after a change
	// before they are read: a truncate-then-write or a multi-step rename is
	// read once, whole.
	watchDebounce = 250 * time.Millisecond
	// watchMaxDelay caps the debounce: files changing all the time do not
	// postpone a reload for longer.
	watchMaxDelay = time.Second
	// watchPoll is the period of the check that backs up the watcher (file
	// systems without inotify, missed or overflowed events).
	watchPoll = 2 * time.Second
)

// watcher calls onChange when a watched file may have changed. It watches
// the directories holding the files, not the files: a directory watch
// survives editors' atomic renames, delete-and-recreate and Kubernetes'
// ..data symlink swap, every time. A periodic check backs it up: it stats
// every file and calls onChange when one changed (its identity, size,
// times or mode, or whether it exists) since the last call, so a lost
// event delays a reload by at most watchPoll, and directories that
// disappear are watched again when they come back. It reads no file: with
// 10,000 key files, reading them all every period took a quarter of a core.
// onChange returns an error when the files could not be used; they are
// then checked again at the next period, changed or not.
//
// One inotify instance serves every file: one per file (as a watcher per
// file would take) runs into the default per-user limit of 128.
type watcher struct {
	fs       *fsnotify.Watcher // nil when inotify is unavailable: polling only
	onChange func() error
	logger   func() *zap.Logger
	poll     time.Duration

	mu    sync.Mutex
	dirs  map[string]bool // watched now
	files []string        // sorted
	// relevant are the other paths whose events matter: the files'
	// symlink targets, and the directories. The files are found in files:
	// a set of them took 42 bytes a file.
	relevant map[string]bool
	// stampsSum sums up the files as they were just before the last
	// onChange that succeeded: a hash of their paths and stamps, in order
	// (see sumStamps); stamped is false when onChange is to be called at
	// the next period. With 10,000 key files, the stamps themselves took
	// 1.1 MB of heap, kept twice; a change that left the sum as it was
	// (one in 2^64) is read within secretReread all the same. called is
	// when onChange was last called: it is called at least every
	// secretReread, changed or not, so that the secret files are read
	// again that often. Used by loop only, as are sum and its seed.
	stampsSum uint64
	stamped   bool
	called    time.Time
	sum       maphash.Hash
	stamper   stamper // used by loop only

	rearmWanted chan struct{} // the files changed (buffered: one rearm is due)
	stop        chan struct{}
	done        chan struct{}
}

// newWatcher starts watching, and calls onChange every poll period too;
// setFiles says which files.
func newWatcher(onChange func() error, logger func() *zap.Logger, poll time.Duration) *watcher {
	w := &watcher{onChange: onChange, logger: logger, poll: poll, dirs: make(map[string]bool),
		rearmWanted: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	fs, err := fsnotify.NewWatcher()
	if err != nil {
		logger().Warn("cannot watch config and key files; checking them every poll period instead",
			zap.Duration("poll_period", poll), zap.Error(err))
	} else {
		w.fs = fs
	}
	go w.loop()
	return w
}

// setFiles replaces the set of watched files, which it keeps sorted. The
// same set again changes nothing: the check that follows a change rearms
// anyway (symlink targets swapped), and with 10,000 key files a rearm
// resolves 10,000 paths (40 ms). A new set is rearmed by loop, not here:
// setFiles is called while the config is provisioned, before the sidecar
// serves. A change in between is seen by the first periodic check, which
// always reloads.
func (w *watcher) setFiles(files []string) {
	if !slices.IsSorted(files) {
		files = slices.Sorted(slices.Values(files))
	}
	w.mu.Lock()
	same := slices.Equal(w.files, files)
	w.files = files
	w.mu.Unlock()
	if !same {
		select {
		case w.rearmWanted <- struct{}{}:
		default: // a rearm is due already, and reads the files then
		}
	}
}

// fileStamp is what the periodic check compares: a file's size,
// modification time, mode and identity (see fileID), or that it could
// not be stat'ed.
type fileStamp struct {
	size    int64
	modTime int64  // unix nanoseconds
	mode    uint32 // st_mode on Linux, fs.FileMode elsewhere
	id      [3]uint64
	missing bool
}

// write adds the stamp to a hash, without allocating.
func (st *fileStamp) write(h *maphash.Hash) {
	var b [45]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(st.size))
	binary.LittleEndian.PutUint64(b[8:], uint64(st.modTime))
	binary.LittleEndian.PutUint32(b[16:], st.mode)
	binary.LittleEndian.PutUint64(b[20:], st.id[0])
	binary.LittleEndian.PutUint64(b[28:], st.id[1])
	binary.LittleEndian.PutUint64(b[36:], st.id[2])
	if st.missing {
		b[44] = 1
	}
	h.Write(b[:])
}

// sumStamps stats the watched files, in order (following symlinks), and
// sums up their paths and stamps.
func (w *watcher) sumStamps() uint64 {
	w.mu.Lock()
	files := w.files
	w.mu.Unlock()
	w.sum.Reset()
	for _, f := range files {
		w.sum.WriteString(f)
		w.sum.WriteByte(0) // a path holds no NUL: the paths are told apart from the stamps
		st := w.stamper.stamp(f)
		st.write(&w.sum)
	}
	return w.sum.Sum64()
}

// check rearms and calls onChange; changed says whether the files changed
// since the last call (an event, or stamps that differ). A change is
// recorded before onChange reads the files, so that one made while it
// reads is seen at the next period. The rearm comes first, so that the
// watches are in place before the files are read, and so that the memory
// onChange's pass gives back includes the rearm's garbage (3 MB at 10,000
// files, which an idle sidecar otherwise kept until the next pass).
func (w *watcher) check(changed bool) {
	sum := w.sumStamps()
	if !changed && w.stamped && sum == w.stampsSum && time.Since(w.called) < secretReread {
		return
	}
	w.stampsSum, w.stamped, w.called = sum, true, time.Now()
	w.rearm()
	if err := w.onChange(); err != nil {
		w.stamped = false
	}
}

// rearm watches the directory of each file and of each symlink target, and
// stops watching directories no longer needed. Adding a directory already
// watched is harmless, so this also restores watches that were lost.
func (w *watcher) rearm() {
	if w.fs == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	want := make(map[string]bool)
	w.relevant = make(map[string]bool)
	realDirs := make(map[string]string) // directory -> its path without symlinks; "" if it has none
	for _, f := range w.files {
		dir := filepath.Dir(f)
		want[dir] = true
		if real := resolveFile(f, realDirs); real != "" && real != f { // f itself is kept once
			want[filepath.Dir(real)] = true
			w.relevant[real] = true
		}
	}
	for dir := range want {
		w.relevant[dir] = true
	}
	for dir := range w.dirs {
		if !want[dir] {
			_ = w.fs.Remove(dir)
			delete(w.dirs, dir)
		}
	}
	for dir := range want {
		if err := w.fs.Add(dir); err != nil {
			delete(w.dirs, dir) // missing for now: the poll will retry
			continue
		}
		w.dirs[dir] = true
	}
}

// resolveFile is filepath.EvalSymlinks(f), or "" where that fails, with
// each directory resolved once in realDirs: 10,000 key files in a few
// directories cost 10,000 lstat calls, not one per component of each path.
func resolveFile(f string, realDirs map[string]string) string {
	dir := filepath.Dir(f)
	realDir, ok := realDirs[dir]
	if !ok {
		realDir, _ = filepath.EvalSymlinks(dir)
		realDirs[dir] = realDir
	}
	if realDir == "" {
		return ""
	}
	real := filepath.Join(realDir, filepath.Base(f))
	fi, err := os.Lstat(real)
	if err != nil {
		return ""
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if real, err = filepath.EvalSymlinks(real); err != nil {
			return ""
		}
	}
	return real
}

// isRelevant reports whether an event on path may change a watched file:
// the file itself, its symlink target, a watched directory, or a name
// starting with ".." (Kubernetes' atomic writer swaps ..data and keeps its
// versions in ..<timestamp> directories). Other files in the same
// directories, such as a busy log file, are ignored.
func (w *watcher) isRelevant(path string) bool {
	if strings.HasPrefix(filepath.Base(path), "..") {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, isFile := slices.BinarySearch(w.files, path)
	return isFile || w.relevant[path]
}

func (w *watcher) loop() {
	defer close(w.done)
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w.fs != nil {
		events, errs = w.fs.Events, w.fs.Errors
	}
	poll := time.NewTicker(w.poll)
	defer poll.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	var firstEvent time.Time // of the changes not yet acted on; zero if none
	schedule := func() {
		now := time.Now()
		if firstEvent.IsZero() {
			firstEvent = now
		}
		debounce.Reset(min(watchDebounce, max(0, firstEvent.Add(watchMaxDelay).Sub(now))))
	}
	for {
		select {
		case <-w.stop:
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if w.isRelevant(ev.Name) {
				schedule()
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			w.logger().Warn("file watcher error; re-reading config and keys", zap.Error(err))
			schedule()
		case <-w.rearmWanted:
			w.rearm()
		case <-debounce.C:
			firstEvent = time.Time{}
			w.check(true)
		case <-poll.C:
			w.check(false)
		}
	}
}

// close stops watching and waits for a reload in progress to finish.
func (w *watcher) close() {
	close(w.stop)
	<-w.done
	if w.fs != nil {
		_ = w.fs.Close()
	}
}
