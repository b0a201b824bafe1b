package restlink

import (
	"path/filepath"
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
	// watchPoll is the period of the content check that backs up the
	// watcher (file systems without inotify, missed or overflowed events).
	watchPoll = 2 * time.Second
)

// watcher calls onChange when a watched file may have changed. It watches
// the directories holding the files, not the files: a directory watch
// survives editors' atomic renames, delete-and-recreate and Kubernetes'
// ..data symlink swap, every time. Directories that disappear are watched
// again when they come back, and a periodic check calls onChange anyway, so
// a lost event delays a reload by at most watchPoll.
//
// koanf's file.Provider.Watch is not used: it ends for good after a remove
// or an error, and it needs one inotify instance per file (the default
// per-user limit is 128), while one instance here serves every file.
type watcher struct {
	fs       *fsnotify.Watcher // nil when inotify is unavailable: polling only
	onChange func()
	logger   func() *zap.Logger

	mu    sync.Mutex
	files []string
	dirs  map[string]bool // watched now

	stop chan struct{}
	done chan struct{}
}

// newWatcher starts watching; setFiles says which files.
func newWatcher(onChange func(), logger func() *zap.Logger) *watcher {
	w := &watcher{onChange: onChange, logger: logger, dirs: make(map[string]bool), stop: make(chan struct{}), done: make(chan struct{})}
	fs, err := fsnotify.NewWatcher()
	if err != nil {
		logger().Warn("cannot watch config and key files; checking them every poll period instead",
			zap.Duration("poll_period", watchPoll), zap.Error(err))
	} else {
		w.fs = fs
	}
	go w.loop()
	return w
}

// setFiles replaces the set of watched files.
func (w *watcher) setFiles(files []string) {
	w.mu.Lock()
	w.files = files
	w.mu.Unlock()
	w.rearm()
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
	for _, f := range w.files {
		want[filepath.Dir(f)] = true
		if real, err := filepath.EvalSymlinks(f); err == nil {
			want[filepath.Dir(real)] = true
		}
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

func (w *watcher) loop() {
	defer close(w.done)
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w.fs != nil {
		events, errs = w.fs.Events, w.fs.Errors
	}
	poll := time.NewTicker(watchPoll)
	defer poll.Stop()
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	for {
		select {
		case <-w.stop:
			return
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			debounce.Reset(watchDebounce)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			w.logger().Warn("file watcher error; re-reading config and keys", zap.Error(err))
			debounce.Reset(watchDebounce)
		case <-debounce.C:
			w.onChange()
			w.rearm()
		case <-poll.C:
			w.onChange()
			w.rearm()
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
