// Package durable holds what the sidecar's on-disk engines (the webhook
// spool, the ledger, the alert outbox and the quarantine file) share to make their files
// survive a crash.
package durable

import (
	"os"
	"path/filepath"
)

// TempPrefix starts the names of WriteFile's temporary files: a reader of
// the directory skips them, and may remove those a crash left behind.
const TempPrefix = ".tmp-"

// WriteFile makes dir/name hold data durably, mode 0600: data is written
// to a temporary file in dir, which is synced and renamed to name, and
// then dir is synced. A crash leaves the old file or the new one whole
// (and at worst a temporary file). On an error the temporary file is
// removed; a failure to sync dir leaves name renamed but maybe not
// durable, for the caller to decide on.
func WriteFile(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, TempPrefix+"*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return SyncDir(dir)
}

// SyncDir makes the creation, renaming and removal of files in dir
// durable: a file's own fsync does not cover its directory entry.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
