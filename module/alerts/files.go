package alerts

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/23telecom/restlink-sidecar/internal/durable"
)

// The outbox's directory holds one file per pending alert, named
// <seq>.<id>.json: seq, 20 decimal digits, orders the alerts as they
// were added (and sorts so as text); the id is the alert's, safe in a
// file name (checkID). A file is written under a temporary name
// (.tmp-<random>) and renamed into place.
const (
	dirMode    = 0o700
	seqDigits  = 20
	fileSuffix = ".json"
	tempPrefix = durable.TempPrefix
)

// Errors of the files Open could not use, in a FileError.
var (
	// ErrUnknownFile: a file the outbox does not write. Open leaves it
	// alone.
	ErrUnknownFile = errors.New("not a file of the alert outbox")
	// ErrDuplicate: a second file with the id of an alert already
	// pending. Only the first is delivered.
	ErrDuplicate = errors.New("holds the id of an alert another file holds")
)

// FileError is a file of the outbox's directory that Open could not use.
// Open leaves it in place, for an operator to look at and delete, and
// reports it again at every Open until then.
type FileError struct {
	Path string
	Err  error
}

// Error names the file.
func (e *FileError) Error() string { return e.Path + ": " + e.Err.Error() }

// Unwrap returns the reason the file could not be used.
func (e *FileError) Unwrap() error { return e.Err }

// Recovery is what Open found in the outbox's directory.
type Recovery struct {
	// Pending is the number of alerts an earlier run left pending,
	// queued again for delivery.
	Pending int
	// TempFiles is the number of stray temporary files Open removed:
	// each an Add that a crash cut off before it returned, so that
	// nobody was told its alert was added.
	TempFiles int
	// Problems are the files Open could not use, each a *FileError: a
	// corrupt alert (ErrInvalid), a second file with one id
	// (ErrDuplicate), a file the outbox does not write (ErrUnknownFile),
	// or one it could not read or remove. None stops Open or the other
	// alerts.
	Problems []error
}

// entry is one pending alert: its file and the body its file holds.
type entry struct {
	seq  uint64
	id   string
	name string // the file's name in the outbox's directory
	body []byte
}

// fileName returns the name of the file of the seq-th alert, of id.
func fileName(seq uint64, id string) string {
	return fmt.Sprintf("%0*d.%s%s", seqDigits, seq, id, fileSuffix)
}

// parseName returns the seq and id of a file name fileName wrote, and
// whether it is one.
func parseName(name string) (seq uint64, id string, ok bool) {
	rest, ok := strings.CutSuffix(name, fileSuffix)
	if !ok || len(rest) < seqDigits+2 || rest[seqDigits] != '.' {
		return 0, "", false
	}
	digits, id := rest[:seqDigits], rest[seqDigits+1:]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, "", false
		}
	}
	seq, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || checkID(id) != nil {
		return 0, "", false
	}
	return seq, id, true
}

// writeFile makes dir/name hold body durably (see durable.WriteFile). A
// crash leaves either no file named name or all of it (and at worst a
// temporary file, which load removes). A failure leaves no file named
// name: an Add that failed leaves nothing to deliver.
func writeFile(dir, name string, body []byte) error {
	if err := durable.WriteFile(dir, name, body); err != nil {
		os.Remove(filepath.Join(dir, name))
		return err
	}
	return nil
}

// removeFile removes dir/name, which may be gone already, durably.
func removeFile(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return durable.SyncDir(dir)
}

// load reads the alerts pending in dir, in the order they were added,
// and removes stray temporary files. It fails only if dir cannot be
// read; a file it cannot use is reported in Recovery.Problems. next is
// the seq for the next alert added: past every file's, usable or not.
func load(dir string) (pending []*entry, next uint64, rec Recovery, err error) {
	des, err := os.ReadDir(dir) // sorted by name: pending is in seq order
	if err != nil {
		return nil, 0, rec, err
	}
	seen := make(map[string]bool)
	for _, de := range des {
		name := de.Name()
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, tempPrefix) && de.Type().IsRegular() {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				rec.Problems = append(rec.Problems, &FileError{path, fmt.Errorf("removing stray temporary file: %w", err)})
				continue
			}
			rec.TempFiles++
			continue
		}
		seq, id, ok := parseName(name)
		if !ok || !de.Type().IsRegular() {
			rec.Problems = append(rec.Problems, &FileError{path, ErrUnknownFile})
			continue
		}
		next = max(next, seq+1)
		body, err := readAlert(path, id)
		switch {
		case err != nil:
			rec.Problems = append(rec.Problems, &FileError{path, err})
		case seen[id]:
			rec.Problems = append(rec.Problems, &FileError{path, ErrDuplicate})
		default:
			seen[id] = true
			pending = append(pending, &entry{seq: seq, id: id, name: name, body: body})
		}
	}
	if rec.TempFiles > 0 {
		if err := durable.SyncDir(dir); err != nil {
			rec.Problems = append(rec.Problems, &FileError{dir, fmt.Errorf("syncing after removing temporary files: %w", err)})
		}
	}
	rec.Pending = len(pending)
	return pending, next, rec, nil
}

// readAlert returns the body in the file at path if it is an alert of
// the given id.
func readAlert(path, id string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	body, err := io.ReadAll(io.LimitReader(f, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrInvalid, maxBody)
	}
	a, err := decode(body)
	if err != nil {
		return nil, err
	}
	if a.ID != id {
		return nil, fmt.Errorf("%w: holds id %q, not the id of its name", ErrInvalid, a.ID)
	}
	return body, nil
}
