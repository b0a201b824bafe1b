package durable

import "testing"

// TestSyncDir: a directory syncs; a missing one is an error.
func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Error(err)
	}
	if err := SyncDir(t.TempDir() + "/missing"); err == nil {
		t.Error("a missing directory synced")
	}
}
