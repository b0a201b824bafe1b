package restlink

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestSecretFilesSkipUnchanged: a file whose stat is unchanged is not read
// again within a minute (its path may even be gone: nothing is opened);
// past a minute, or with another stat, it is read anew.
func TestSecretFilesSkipUnchanged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ws.key")
	if err := os.WriteFile(path, []byte("sk_test_first"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	var c secretFiles
	now := time.Now()
	if b, err := c.read(path, fi, maxSecretBytes, now); err != nil || string(b) != "sk_test_first" {
		t.Fatalf("first read: %q, %v", b, err)
	}
	if err := os.Rename(path, path+".moved"); err != nil {
		t.Fatal(err)
	}
	if b, err := c.read(path, fi, maxSecretBytes, now.Add(59*time.Second)); err != nil || string(b) != "sk_test_first" {
		t.Errorf("an unchanged stat within a minute was read again: %q, %v", b, err)
	}
	c.forget(map[string]bool{path: true, filepath.Join(dir, "gone.key"): true}) // a published snapshot keeps it
	if b, err := c.read(path, fi, maxSecretBytes, now.Add(59*time.Second)); err != nil || string(b) != "sk_test_first" {
		t.Errorf("after forget kept it, an unchanged stat within a minute was read again: %q, %v", b, err)
	}
	if _, err := c.read(path, fi, maxSecretBytes, now.Add(61*time.Second)); err == nil {
		t.Error("a file was not read again after a minute")
	}
	other := filepath.Join(dir, "other.key")
	if err := os.WriteFile(other, []byte("sk_test_other!"), 0o600); err != nil {
		t.Fatal(err)
	}
	ofi, _ := os.Stat(other)
	if _, err := c.read(path, ofi, maxSecretBytes, now); err == nil {
		t.Error("a file with another stat was not read again")
	}
	var none *secretFiles
	if _, err := none.read(path, fi, maxSecretBytes, now); err == nil {
		t.Error("a nil cache did not read the file")
	}
	c.forget(map[string]bool{})
	if len(c.files)+len(c.added) != 0 {
		t.Error("forget kept a file")
	}
}

// TestSecretFilesKeepLittlePerFile: the cache keeps each file's content
// at its size, not the buffer it was read into (io.ReadAll's 512 bytes at
// least): with 10,000 key files that buffer was 5 MiB of live heap. Of
// its stamp it keeps a sum: the stamp and a time.Time took 190 bytes a
// file with their map's slack. The files are a slice by path, not a map:
// the map took 108 bytes a file.
func TestSecretFilesKeepLittlePerFile(t *testing.T) {
	dir := t.TempDir()
	const n = 5000
	paths := make([]string, n)
	infos := make([]os.FileInfo, n)
	for i := range paths {
		paths[i] = filepath.Join(dir, "ws-"+strconv.Itoa(i)+".key")
		if err := os.WriteFile(paths[i], []byte("sk_test_"+strconv.Itoa(100000+i)), 0o600); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		infos[i] = fi
	}
	keep := fileSet(paths)
	var c secretFiles
	before := liveHeap()
	for i, p := range paths {
		if _, err := c.read(p, infos[i], maxSecretBytes, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	c.forget(keep) // as a published snapshot does
	perFile := float64(liveHeap()-before) / n
	runtime.KeepAlive(&c)
	runtime.KeepAlive(paths)
	runtime.KeepAlive(infos)
	runtime.KeepAlive(keep)
	t.Logf("%.0f bytes a file", perFile)
	if perFile > 72 {
		t.Errorf("the cache keeps %.0f bytes per 14-byte file, want under 72", perFile)
	}
}
