package restlink

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

// TestWatcherIgnoresBusyNeighbours: a file written all the time in the same
// directory (a log) neither triggers reloads nor delays one.
func TestWatcherIgnoresBusyNeighbours(t *testing.T) {
	dir := t.TempDir()
	key, log := filepath.Join(dir, "main.key"), filepath.Join(dir, "app.log")
	os.WriteFile(key, []byte("k1"), 0o600)
	var changes atomic.Int32
	w := newWatcher(func() { changes.Add(1) }, zap.NewNop, time.Hour) // events only
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

// TestWatcherPolls: the periodic check runs even when no event comes (file
// systems without inotify, lost events).
func TestWatcherPolls(t *testing.T) {
	var changes atomic.Int32
	w := newWatcher(func() { changes.Add(1) }, zap.NewNop, 50*time.Millisecond)
	defer w.close()
	w.setFiles([]string{filepath.Join(t.TempDir(), "absent", "main.key")})
	time.Sleep(300 * time.Millisecond)
	if n := changes.Load(); n < 3 {
		t.Errorf("%d checks in 300ms with a 50ms period", n)
	}
}
