package alerts

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFileName: names sort as the seqs do, and parseName reads back
// what fileName wrote and nothing else.
func TestFileName(t *testing.T) {
	id := testAlert("a").ID
	for _, seq := range []uint64{0, 7, 10, 1<<64 - 1} {
		name := fileName(seq, id)
		s, i, ok := parseName(name)
		if !ok || s != seq || i != id {
			t.Errorf("parseName(%q) = %d, %q, %v", name, s, i, ok)
		}
	}
	if a, b := fileName(9, "z"), fileName(10, "a"); a >= b {
		t.Errorf("%q sorts after %q", a, b)
	}
	for _, name := range []string{
		"", ".json", "notes.txt", id + ".json",
		"0000000000000000001." + id + ".json",       // 19 digits
		"0000000000000000000a." + id + ".json",      // not a digit
		"00000000000000000001-" + id + ".json",      // no dot
		"00000000000000000001..json",                // no id
		"00000000000000000001.a.b.json",             // a dot in the id
		"00000000000000000001." + id + ".json.tmp",  // not .json
		"99999999999999999999." + id + ".json",      // past uint64
		"+0000000000000000001." + id + ".json",      // a sign
		".tmp-00000000000000000001." + id + ".json", // temporary
	} {
		if seq, id, ok := parseName(name); ok {
			t.Errorf("parseName(%q) = %d, %q, true", name, seq, id)
		}
	}
}

// TestOpenRecovers: Open removes stray temporary files, reports the
// files it cannot use (a corrupt alert, one whose id is not its name's,
// a second file with one id, files it does not write) and leaves them,
// and delivers the good alerts; the next alert added sorts after every
// file.
func TestOpenRecovers(t *testing.T) {
	dir := t.TempDir()
	a, b, c := testAlert("a"), testAlert("b"), testAlert("c")
	o := openOutbox(t, dir, Options{URL: "http://127.0.0.1:1/", MinBackoff: time.Hour, MaxBackoff: time.Hour})
	mustAdd(t, o, a)
	mustAdd(t, o, b)
	o.Close()
	bodyA, err := os.ReadFile(filepath.Join(dir, fileName(0, a.ID)))
	if err != nil {
		t.Fatal(err)
	}

	write := func(name, body string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	torn := write(fileName(7, c.ID), string(bodyA[:len(bodyA)/2]))
	wrongID := write(fileName(8, c.ID+"x"), string(bodyA))
	dup := write(fileName(9, a.ID), string(bodyA))
	big := write(fileName(3, "big"), strings.Repeat(" ", maxBody+1))
	notes := write("notes.txt", "an operator's notes")
	temp := write(tempPrefix+"123456", string(bodyA[:10]))
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}

	r := newReceiver(t, nil)
	o = openOutbox(t, dir, fastOptions(r.srv.URL))
	rec := o.Recovery()
	if rec.Pending != 2 || rec.TempFiles != 1 {
		t.Errorf("Recovery = %+v, want 2 pending, 1 temporary file", rec)
	}
	want := map[string]error{
		big: ErrInvalid, torn: ErrInvalid, wrongID: ErrInvalid, dup: ErrDuplicate,
		notes: ErrUnknownFile, sub: ErrUnknownFile,
	}
	for _, p := range rec.Problems {
		var fe *FileError
		if !errors.As(p, &fe) {
			t.Errorf("problem %v is not a *FileError", p)
			continue
		}
		if w, ok := want[fe.Path]; !ok || !errors.Is(p, w) {
			t.Errorf("problem %v, want %v for %s", p, w, fe.Path)
		}
		delete(want, fe.Path)
	}
	for path, err := range want {
		t.Errorf("no problem reported for %s (%v)", path, err)
	}

	waitFor(t, "2 deliveries", func() bool { return o.Stats().Delivered == 2 })
	if got := r.taken(); !slices.Equal(got, []string{a.ID, b.ID}) {
		t.Errorf("receiver took %q, want %q", got, []string{a.ID, b.ID})
	}
	mustAdd(t, o, c)
	waitFor(t, "c's delivery", func() bool { return o.Stats().Delivered == 3 })
	o.Close()

	// The problems stay for an operator; the temporary file is gone.
	for _, path := range []string{torn, wrongID, dup, big, notes, sub} {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	if _, err := os.Stat(temp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary file: %v, want it removed", err)
	}
	if o.nextSeq != 11 {
		t.Errorf("the seq after c's is %d, want 11 (past every file's)", o.nextSeq)
	}
}
