package webhook

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.etcd.io/bbolt"
)

// TestCommitterGroups queues writes while a transaction is committing
// and checks that they share the next transaction, that a failing or
// panicking write fails alone, and that the others are committed.
func TestCommitterGroups(t *testing.T) {
	sp := openSpool(t, t.TempDir(), SpoolOptions{})
	bucket := []byte("test")
	if err := sp.writes.update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// Hold the committer inside a transaction.
	entered, release := make(chan struct{}), make(chan struct{})
	blockerDone := make(chan error, 1)
	go func() {
		blockerDone <- sp.writes.update(func(*bbolt.Tx) error {
			close(entered)
			<-release
			return nil
		})
	}()
	<-entered

	const writers = 10
	errBoom := errors.New("boom")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		txIDs = make(map[int]int) // writer -> transaction id of its last run
		errs  = make([]error, writers)
	)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = sp.writes.update(func(tx *bbolt.Tx) error {
				mu.Lock()
				txIDs[i] = tx.ID()
				mu.Unlock()
				switch i {
				case 3:
					return errBoom
				case 6:
					panic("bad write")
				}
				return tx.Bucket(bucket).Put([]byte(strconv.Itoa(i)), []byte("x"))
			})
		}()
	}
	waitFor(t, "the writes queued", func() bool { return len(sp.writes.reqs) == writers })
	close(release)
	wg.Wait()
	if err := <-blockerDone; err != nil {
		t.Fatal(err)
	}

	for i, err := range errs {
		switch i {
		case 3:
			if !errors.Is(err, errBoom) {
				t.Errorf("writer 3 error = %v, want its own error", err)
			}
		case 6:
			if err == nil || !strings.Contains(err.Error(), "panicked") {
				t.Errorf("writer 6 error = %v, want the panic as an error", err)
			}
		default:
			if err != nil {
				t.Errorf("writer %d error = %v, want nil", i, err)
			}
		}
	}
	committed := make(map[int]bool)
	for i := range writers {
		if i != 3 && i != 6 {
			committed[txIDs[i]] = true
		}
	}
	if len(committed) != 1 {
		t.Errorf("the successful writes committed in %d transactions, want 1 (one fsync)", len(committed))
	}
	if got := bucketLen(t, sp, bucket); got != writers-2 {
		t.Errorf("keys written = %d, want %d", got, writers-2)
	}
}
