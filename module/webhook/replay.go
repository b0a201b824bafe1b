package webhook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"

	"github.com/23telecom/restlink-sidecar/internal/durable"
)

// RequestReplay asks for the dead letters of workspace (of every
// workspace when workspace is "") to be delivered again. It moves their
// files from dir/dead/<workspace>/ to dir/replay/ and returns how many it
// moved. It does not open the spool, so a separate process (an operator's
// CLI) can call it while the sidecar runs; the running spool picks the
// files up on its next IngestReplays, and a spool opened later picks them
// up when it opens.
func RequestReplay(dir, workspace string) (int, error) {
	workspaces, err := deadWorkspaces(dir, workspace)
	if err != nil {
		return 0, fmt.Errorf("requesting replay of dead letters: %w", err)
	}
	replay := filepath.Join(dir, replayDir)
	madeReplay := false
	moved := 0
	var errs []error
	for _, ws := range workspaces {
		wsDir := filepath.Join(dir, deadDir, ws)
		paths, err := deadLetterFiles(wsDir)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(paths) > 0 && !madeReplay {
			if err := os.MkdirAll(replay, dirMode); err != nil {
				return 0, fmt.Errorf("requesting replay of dead letters: %w", err)
			}
			madeReplay = true
		}
		for _, p := range paths {
			// Event ids are unique across workspaces (the workspace is
			// part of the dedup key they derive from), so one flat
			// directory cannot mix two events up.
			if err := os.Rename(p, filepath.Join(replay, filepath.Base(p))); err != nil {
				errs = append(errs, err)
				continue
			}
			moved++
		}
		if len(paths) > 0 {
			if err := durable.SyncDir(wsDir); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if moved > 0 {
		if err := durable.SyncDir(replay); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return moved, fmt.Errorf("requesting replay of dead letters: %w", errors.Join(errs...))
	}
	return moved, nil
}

// IngestReplays spools the files waiting in dir/replay (see RequestReplay)
// as fresh pending events and returns how many it spooled. A replayed
// event starts over: no attempts, due now, and a new retry window (its
// Received becomes now); the dedup window does not apply, since replaying
// is deliberate. An event still pending under the same id is left as it
// is. Each file is deleted only after its event is synced to the spool,
// so a crash in between replays it twice rather than never (the app
// de-duplicates by event id). Files that cannot be parsed are left in
// place and named in the error, every time, until an operator removes
// them.
func (s *Spool) IngestReplays() (int, error) {
	s.replayMu.Lock()
	defer s.replayMu.Unlock()
	defer s.refreshDeadCounts()

	replay := filepath.Join(s.dir, replayDir)
	paths, err := deadLetterFiles(replay)
	if err != nil {
		return 0, fmt.Errorf("ingesting webhook replays: %w", err)
	}
	if len(paths) == 0 {
		return 0, nil
	}
	var (
		errs    []error
		records []*record
		done    []string
	)
	now := s.now()
	for _, p := range paths {
		dl, err := readDeadLetter(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		records = append(records, replayRecord(dl, now))
		done = append(done, p)
	}
	ingested := 0
	if len(records) > 0 {
		err := s.writes.update(func(tx *bbolt.Tx) error {
			ingested = 0
			for _, rec := range records {
				if tx.Bucket(bucketEvents).Get([]byte(rec.ID)) != nil {
					continue // still pending: it will be delivered anyway
				}
				if err := putNew(tx, rec); err != nil {
					return err
				}
				ingested++
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
			return 0, fmt.Errorf("ingesting webhook replays: %w", errors.Join(errs...))
		}
		for _, p := range done {
			if err := os.Remove(p); err != nil {
				errs = append(errs, err)
			}
		}
		if err := durable.SyncDir(replay); err != nil {
			errs = append(errs, err)
		}
		for _, rec := range records {
			s.wake(rec.Workspace)
		}
	}
	if len(errs) > 0 {
		return ingested, fmt.Errorf("ingesting webhook replays: %w", errors.Join(errs...))
	}
	return ingested, nil
}

// replayRecord turns a dead letter into a fresh pending record.
func replayRecord(dl *DeadLetter, now time.Time) *record {
	key := dl.DedupKey
	if key == "" {
		key = DedupKey(dl.Workspace, dl.Type, dl.Body)
	}
	return recordOf(&Event{
		ID:          EventID(key),
		Workspace:   dl.Workspace,
		WorkspaceID: dl.WorkspaceID,
		Type:        dl.Type,
		Body:        dl.Body,
		ContentType: dl.ContentType,
		Received:    now,
		NextAttempt: now,
		DedupKey:    key,
	})
}
