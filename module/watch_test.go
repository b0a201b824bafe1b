package restlink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// TestWatcherIgnoresBusyNeighbours: a file written all the time in the same
// directory (a log) neither triggers reloads nor delays one.
func TestWatcherIgnoresBusyNeighbours(t *testing.T) {
	dir := t.TempDir()
	key, log := filepath.Join(dir, "main.key"), filepath.Join(dir, "app.log")
	os.WriteFile(key, []byte("k1"), 0o600)
	var changes atomic.Int32
	w := newWatcher(func() error { changes.Add(1); return nil }, zap.NewNop, time.Hour) // events only
	defer w.close()
	w.setFiles([]string{key})

	stop := make(chan struct{})
	go func() {
		f, _ := os.Create(log)
		defer f.Close()
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
				f.WriteString("busy\n")
			}
		}
	}()
	defer close(stop)

	time.Sleep(2 * watchMaxDelay)
	if n := changes.Load(); n != 0 {
		t.Fatalf("%d reloads for writes to another file", n)
	}
	start := time.Now()
	os.WriteFile(key, []byte("k2"), 0o600)
	for changes.Load() == 0 {
		if time.Since(start) > watchMaxDelay {
			t.Fatalf("no reload within %v of a key file change", watchMaxDelay)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWatcherPolls: the periodic check sees a change no event reported
// (file systems without inotify, lost events; here a directory that did
// not exist, so could not be watched), and calls onChange only then.
func TestWatcherPolls(t *testing.T) {
	var changes atomic.Int32
	w := newWatcher(func() error { changes.Add(1); return nil }, zap.NewNop, 50*time.Millisecond)
	defer w.close()
	dir := filepath.Join(t.TempDir(), "absent")
	w.setFiles([]string{filepath.Join(dir, "main.key")})
	time.Sleep(300 * time.Millisecond)
	if n := changes.Load(); n != 1 {
		t.Fatalf("%d checks in 300ms with a 50ms period and no change; want 1 (the first)", n)
	}
	os.Mkdir(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "main.key"), []byte("k1"), 0o600)
	waitFor(t, func() bool { return changes.Load() == 2 }, "a reload for a file that appeared")
	os.WriteFile(filepath.Join(dir, "main.key"), []byte("k2-longer"), 0o600)
	waitFor(t, func() bool { return changes.Load() == 3 }, "a reload for a file that changed")
}

// TestWatcherRetriesFailures: files that could not be used are checked
// again at every period, changed or not.
func TestWatcherRetriesFailures(t *testing.T) {
	var changes atomic.Int32
	w := newWatcher(func() error { changes.Add(1); return errors.New("broken") }, zap.NewNop, 50*time.Millisecond)
	defer w.close()
	w.setFiles([]string{filepath.Join(t.TempDir(), "main.key")})
	time.Sleep(300 * time.Millisecond)
	if n := changes.Load(); n < 3 {
		t.Errorf("%d checks in 300ms with a 50ms period after failures", n)
	}
}

// waitFor polls cond for up to 2 s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 2*time.Second {
			t.Fatalf("no %s within 2s", what)
		}
	}
}

// TestResolveFileIsEvalSymlinks: resolving a file through its directory's
// cached resolution gives what filepath.EvalSymlinks gives: through a
// symlinked directory, a symlinked file (Kubernetes' ..data layout), a
// plain file; "" for a missing file or directory.
func TestResolveFileIsEvalSymlinks(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "..2026_12_05", "sub"), 0o700))
	must(os.WriteFile(filepath.Join(root, "..2026_12_05", "key"), []byte("k"), 0o600))
	must(os.Symlink("..2026_12_05", filepath.Join(root, "..data")))
	must(os.Symlink("..data/key", filepath.Join(root, "key")))
	linked := filepath.Join(t.TempDir(), "linked")
	must(os.Symlink(root, linked))
	must(os.WriteFile(filepath.Join(root, "plain"), []byte("p"), 0o600))
	realDirs := map[string]string{}
	for _, f := range []string{
		filepath.Join(root, "key"), filepath.Join(root, "plain"), filepath.Join(root, "..data", "key"),
		filepath.Join(linked, "key"), filepath.Join(linked, "plain"),
		filepath.Join(root, "missing"), filepath.Join(root, "nodir", "key"),
	} {
		want, err := filepath.EvalSymlinks(f)
		if err != nil {
			want = ""
		}
		if got := resolveFile(f, realDirs); got != want {
			t.Errorf("resolveFile(%s) = %q, want %q", f, got, want)
		}
	}
}

// checkedWatcher is a watcher whose checks only the test runs: no loop
// (whose rearm, due after setFiles, would allocate while a test counts
// the check's allocations or heap) and no inotify.
func checkedWatcher(onChange func() error) *watcher {
	return &watcher{onChange: onChange, logger: zap.NewNop, poll: time.Hour, dirs: make(map[string]bool),
		rearmWanted: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// TestPeriodicCheckAllocatesNothing: a check that finds nothing changed
// allocates nothing (on Linux): it runs every watchPoll over every key
// file, and its garbage grew an idle sidecar's heap to twice its size.
func TestPeriodicCheckAllocatesNothing(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("files are stat'ed through os.Stat outside Linux")
	}
	var changes atomic.Int32
	w := checkedWatcher(func() error { changes.Add(1); return nil })
	dir := t.TempDir()
	var files []string
	for i := range 200 {
		f := filepath.Join(dir, fmt.Sprintf("ws-%d.key", i))
		if err := os.WriteFile(f, []byte("k"), 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	w.setFiles(files)
	w.check(true)
	allocs := testing.AllocsPerRun(5, func() { w.check(false) })
	if n := changes.Load(); n != 1 {
		t.Fatalf("onChange called %d times; want once, for the first check", n)
	}
	if allocs != 0 {
		t.Fatalf("a check of %d unchanged files made %.0f allocations", len(files), allocs)
	}
}

// TestPeriodicCheckKeepsNoStampPerFile: what the periodic check keeps
// between checks does not grow with the number of files: with 10,000 key
// files, keeping their stamps took 1.1 MB of an idle sidecar's heap.
func TestPeriodicCheckKeepsNoStampPerFile(t *testing.T) {
	w := checkedWatcher(func() error { return nil })
	dir := t.TempDir()
	const n = 5000
	files := make([]string, n)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("ws-%d.key", i))
		if err := os.WriteFile(files[i], []byte("k"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	w.setFiles(files)
	w.check(true)
	before := liveHeap()
	w.check(true)
	w.check(false)
	if kept := liveHeap() - before; kept > n*8 {
		t.Fatalf("the checks of %d files keep %d bytes of heap (%d a file)", n, kept, kept/n)
	}
}

// TestStampIsStampOfStat: the periodic check's stamp of a file is the
// stamp of its os.Stat, through symlinks; a file that is not there is
// missing.
func TestStampIsStampOfStat(t *testing.T) {
	var s stamper
	dir := t.TempDir()
	file, link := filepath.Join(dir, "main.key"), filepath.Join(dir, "link.key")
	if err := os.WriteFile(file, []byte("k1"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{file, link} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := s.stamp(path), stampOf(fi); got != want || got.missing || got.size != 2 {
			t.Errorf("%s: stamp %+v, stamp of os.Stat %+v", path, got, want)
		}
	}
	if got := s.stamp(filepath.Join(dir, "absent.key")); !got.missing {
		t.Errorf("a missing file stamps %+v", got)
	}
}

// TestSetFilesRearmsInTheLoop: setFiles, called while a config is
// provisioned, leaves resolving the files' directories (40 ms for 10,000
// key files) to the watcher's loop; it watches them once the loop is free.
func TestSetFilesRearmsInTheLoop(t *testing.T) {
	entered, release := make(chan struct{}, 1), make(chan struct{})
	w := newWatcher(func() error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		return nil
	}, zap.NewNop, 10*time.Millisecond)
	defer w.close()
	var unblock sync.Once
	free := func() { unblock.Do(func() { close(release) }) }
	defer free() // before close, which waits for the loop
	w.setFiles(nil)
	<-entered // the loop is in a check, waiting for release
	dir := t.TempDir()
	w.setFiles([]string{filepath.Join(dir, "main.key")})
	w.mu.Lock()
	watched := len(w.dirs)
	w.mu.Unlock()
	if watched != 0 {
		t.Fatalf("setFiles watched %d directories itself", watched)
	}
	free()
	waitFor(t, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.dirs[dir]
	}, "watch of the file's directory")
}

// TestCheckRearmsBeforeItReads: a check watches the files' directories
// before onChange reads the files, so that a change made while they are
// read is not missed, and so that the memory the pass gives back includes
// the rearm's garbage (an idle sidecar at 10,000 files kept 3 MB of it).
func TestCheckRearmsBeforeItReads(t *testing.T) {
	dir := t.TempDir()
	var w *watcher
	var watchedWhenRead bool
	w = checkedWatcher(func() error {
		watchedWhenRead = w.dirs[dir] // check runs in this goroutine
		return nil
	})
	fs, err := fsnotify.NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	w.fs = fs
	w.setFiles([]string{filepath.Join(dir, "main.key")})
	w.check(true)
	if !watchedWhenRead {
		t.Error("onChange read the files before their directory was watched")
	}
}
