package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/23telecom/restlink-sidecar/internal/durable"
	"github.com/23telecom/restlink-sidecar/internal/names"
)

// DeadLetter is an event the sidecar gave up delivering, as stored in its
// file dir/dead/<workspace>/<id>.json (mode 0600). The files live outside
// spool.db so that operators can list and replay them while the sidecar
// runs and holds the spool's lock. The body is base64 in the file and
// holds personal data: treat the files as such.
type DeadLetter struct {
	ID          string    `json:"id"`
	Workspace   string    `json:"workspace"`
	WorkspaceID int64     `json:"workspace_id,omitempty"`
	Type        string    `json:"type"`
	ContentType string    `json:"content_type,omitempty"`
	Received    time.Time `json:"received"`
	DeadAt      time.Time `json:"dead_at"`
	Attempts    int       `json:"attempts"`
	Reason      string    `json:"reason"`
	DedupKey    string    `json:"dedup_key"`
	Body        []byte    `json:"body"`
}

const deadLetterExt = ".json"

// DeadLetter gives up on a pending event: it writes the event's
// dead-letter file (synced, then renamed into place) and only then
// removes the event from the spool, so a crash in between leaves the
// event in both places rather than in neither. reason must hold no body
// or secret. Attempts in the file is the number of failed attempts
// recorded so far.
func (s *Spool) DeadLetter(id, reason string) error {
	_, err := s.deadLetter(id, reason, false)
	return err
}

// deadLetter implements DeadLetter; attempted counts one more failed
// attempt (the one that made the Deliverer give up) without a separate
// Retry write. It returns the event as it was when it was dead-lettered.
func (s *Spool) deadLetter(id, reason string, attempted bool) (*Event, error) {
	var rec *record
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		rec, err = getRecord(tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dead-lettering webhook event %s: %w", id, err)
	}
	if attempted {
		rec.Attempts++
	}
	rec.LastError = truncate(reason, maxReasonLength)
	ev := rec.event()
	dl := DeadLetter{
		ID:          ev.ID,
		Workspace:   ev.Workspace,
		WorkspaceID: ev.WorkspaceID,
		Type:        ev.Type,
		ContentType: ev.ContentType,
		Received:    ev.Received,
		DeadAt:      s.now().UTC(),
		Attempts:    ev.Attempts,
		Reason:      ev.LastError,
		DedupKey:    ev.DedupKey,
		Body:        ev.Body,
	}
	if err := writeDeadLetter(s.dir, &dl); err != nil {
		return nil, fmt.Errorf("dead-lettering webhook event %s: %w", id, err)
	}
	err = s.writes.update(func(tx *bbolt.Tx) error {
		current, err := getRecord(tx, id)
		if err != nil {
			return err
		}
		return removeRecord(tx, current)
	})
	if err != nil {
		return nil, fmt.Errorf("dead-lettering webhook event %s: removing it from the spool: %w", id, err)
	}
	s.recountDead(ev.Workspace)
	return ev, nil
}

// writeDeadLetter writes dl's file durably: a synced temporary file
// renamed into place, then the directory synced. A file for the same
// event is replaced.
func writeDeadLetter(dir string, dl *DeadLetter) error {
	wsDir := filepath.Join(dir, deadDir, dl.Workspace)
	if err := os.MkdirAll(wsDir, dirMode); err != nil {
		return err
	}
	data, err := json.MarshalIndent(dl, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(wsDir, dl.ID+deadLetterExt, data)
}

// DeadLetters reads the dead letters in the spool directory dir, for one
// workspace or, when workspace is "", for all; oldest received first. It
// does not open the spool, so it works while the sidecar runs. Files it
// cannot read or parse are left out and named in the returned error,
// along with the letters it could read.
func DeadLetters(dir, workspace string) ([]DeadLetter, error) {
	workspaces, err := deadWorkspaces(dir, workspace)
	if err != nil {
		return nil, fmt.Errorf("listing dead letters: %w", err)
	}
	var (
		out  []DeadLetter
		errs []error
	)
	for _, ws := range workspaces {
		paths, err := deadLetterFiles(filepath.Join(dir, deadDir, ws))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range paths {
			dl, err := readDeadLetter(p)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, *dl)
		}
	}
	slices.SortFunc(out, func(a, b DeadLetter) int {
		if c := a.Received.Compare(b.Received); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(errs) > 0 {
		return out, fmt.Errorf("listing dead letters: %w", errors.Join(errs...))
	}
	return out, nil
}

// deadWorkspaces returns the workspaces to look at: the one named, or
// every directory under dir/dead.
func deadWorkspaces(dir, workspace string) ([]string, error) {
	if workspace != "" {
		if err := names.Check(workspace); err != nil {
			return nil, fmt.Errorf("workspace %w", err)
		}
		return []string{workspace}, nil
	}
	return listDir(filepath.Join(dir, deadDir), func(e fs.DirEntry) bool { return e.IsDir() && names.Check(e.Name()) == nil })
}

// deadLetterFiles lists the dead-letter files in dir, skipping
// temporary files; a missing dir has none.
func deadLetterFiles(dir string) ([]string, error) {
	files, err := listDir(dir, isLetterFile)
	for i, f := range files {
		files[i] = filepath.Join(dir, f)
	}
	return files, err
}

// listDir returns the names of the entries of dir that keep accepts; a
// missing dir has none.
func listDir(dir string, keep func(fs.DirEntry) bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if keep(e) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func isLetterFile(e fs.DirEntry) bool {
	name := e.Name()
	return e.Type().IsRegular() && !strings.HasPrefix(name, ".") && strings.HasSuffix(name, deadLetterExt)
}

// readDeadLetter parses one file and checks the fields that would name
// files or select a delivery target.
func readDeadLetter(path string) (*DeadLetter, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var dl DeadLetter
	if err := json.Unmarshal(data, &dl); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	if err := names.Check(dl.Workspace); err != nil {
		return nil, fmt.Errorf("parsing %s: workspace %w", path, err)
	}
	if err := names.Check(dl.Type); err != nil {
		return nil, fmt.Errorf("parsing %s: type %w", path, err)
	}
	return &dl, nil
}

// refreshDeadCounts recounts the dead-letter files, which operators move
// and delete behind the spool's back. Counting under deadMu, here and in
// recountDead, makes the last count stored one that saw every file
// written before it.
func (s *Spool) refreshDeadCounts() {
	s.deadMu.Lock()
	defer s.deadMu.Unlock()
	counts := make(map[string]int)
	workspaces, _ := deadWorkspaces(s.dir, "")
	for _, ws := range workspaces {
		paths, _ := deadLetterFiles(filepath.Join(s.dir, deadDir, ws))
		if len(paths) > 0 {
			counts[ws] = len(paths)
		}
	}
	s.deadCounts = counts
}

// recountDead recounts one workspace's dead-letter files.
func (s *Spool) recountDead(workspace string) {
	s.deadMu.Lock()
	defer s.deadMu.Unlock()
	paths, _ := deadLetterFiles(filepath.Join(s.dir, deadDir, workspace))
	if s.deadCounts == nil {
		s.deadCounts = make(map[string]int)
	}
	s.deadCounts[workspace] = len(paths)
}
