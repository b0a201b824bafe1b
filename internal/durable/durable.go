// Package durable holds what the sidecar's on-disk engines (the webhook
// spool, the ledger and the alert outbox) share to make their files
// survive a crash.
package durable

import "os"

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
