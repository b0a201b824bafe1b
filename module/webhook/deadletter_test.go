package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDeadLetter(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	sp := openSpool(t, dir, SpoolOptions{Now: clock.Now})
	ev := mustEnqueue(t, sp, newEvent("main", 1))
	if err := sp.Retry(ev.ID, clock.Now(), "app answered HTTP 503"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if err := sp.DeadLetter(ev.ID, "retried for 1h0m0s"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}

	path := filepath.Join(dir, deadDir, "main", ev.ID+".json")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("dead-letter file: %v", err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("dead-letter file mode = %v, want 0600", fi.Mode())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("447700900")) {
		t.Errorf("dead-letter file holds the body in clear; want it base64")
	}
	if n := len(pendingIDs(t, sp)); n != 0 {
		t.Errorf("pending after DeadLetter = %d, want 0", n)
	}

	letters, err := DeadLetters(dir, "main")
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(letters) != 1 {
		t.Fatalf("DeadLetters returned %d letters, want 1", len(letters))
	}
	dl := letters[0]
	want := DeadLetter{
		ID: ev.ID, Workspace: "main", WorkspaceID: 42, Type: "delivery", ContentType: "application/json",
		Received: ev.Received, DeadAt: clock.Now(), Attempts: 1, Reason: "retried for 1h0m0s", DedupKey: ev.DedupKey,
	}
	if dl.ID != want.ID || dl.Workspace != want.Workspace || dl.WorkspaceID != want.WorkspaceID || dl.Type != want.Type ||
		dl.ContentType != want.ContentType || !dl.Received.Equal(want.Received) || !dl.DeadAt.Equal(want.DeadAt) ||
		dl.Attempts != want.Attempts || dl.Reason != want.Reason || dl.DedupKey != want.DedupKey {
		t.Errorf("dead letter = %+v, want %+v", dl, want)
	}
	if !bytes.Equal(dl.Body, ev.Body) {
		t.Errorf("dead letter body = %q, want %q", dl.Body, ev.Body)
	}
	if err := sp.DeadLetter(ev.ID, "again"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second DeadLetter = %v, want ErrNotFound", err)
	}
}

// writeLetter dead-letters a fresh event of workspace and returns it.
func writeLetter(t *testing.T, sp *Spool, workspace string, n int) *Event {
	t.Helper()
	ev := mustEnqueue(t, sp, newEvent(workspace, n))
	if err := sp.DeadLetter(ev.ID, "gave up"); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestDeadLetters(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	sp := openSpool(t, dir, SpoolOptions{Now: clock.Now})
	b := writeLetter(t, sp, "b", 1)
	clock.Advance(time.Second)
	a := writeLetter(t, sp, "a", 2)
	// Noise an operator's directory may hold: a temporary file, another
	// file, and a malformed letter.
	for name, content := range map[string]string{
		".tmp-123":    "{",
		"notes.txt":   "hello",
		"broken.json": "{not json",
	} {
		if err := os.WriteFile(filepath.Join(dir, deadDir, "a", name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name      string
		workspace string
		want      []string
		wantErr   string
	}{
		{"one workspace", "b", []string{b.ID}, ""},
		{"all workspaces, oldest first", "", []string{b.ID, a.ID}, "broken.json"},
		{"malformed file named, others listed", "a", []string{a.ID}, "broken.json"},
		{"workspace without letters", "c", nil, ""},
		{"invalid workspace name", "../x", nil, "workspace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			letters, err := DeadLetters(dir, tc.workspace)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("DeadLetters: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("DeadLetters error = %v, want one mentioning %q", err, tc.wantErr)
			}
			var got []string
			for _, dl := range letters {
				got = append(got, dl.ID)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("DeadLetters ids = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	clock := newFakeClock()
	sp := openSpool(t, dir, SpoolOptions{Now: clock.Now})
	a1 := writeLetter(t, sp, "a", 1)
	a2 := writeLetter(t, sp, "a", 2)
	b3 := writeLetter(t, sp, "b", 3)
	clock.Advance(time.Minute)

	// The spool is open: RequestReplay works on the directory alone.
	n, err := RequestReplay(dir, "a")
	if err != nil || n != 2 {
		t.Fatalf("RequestReplay(a) = %d, %v; want 2, nil", n, err)
	}
	if letters, _ := DeadLetters(dir, "a"); len(letters) != 0 {
		t.Fatalf("dead letters of a after RequestReplay = %d, want 0", len(letters))
	}
	if got := len(pendingIDs(t, sp)); got != 0 {
		t.Fatalf("pending before IngestReplays = %d, want 0", got)
	}

	n, err = sp.IngestReplays()
	if err != nil || n != 2 {
		t.Fatalf("IngestReplays = %d, %v; want 2, nil", n, err)
	}
	pending := pendingIDs(t, sp)
	for _, want := range []*Event{a1, a2} {
		got := pending[want.ID]
		if got == nil {
			t.Fatalf("replayed event %s is not pending", want.ID)
		}
		// The dedup window of the original is still open: a replay
		// ignores it. The event starts over.
		if got.Attempts != 0 || !got.Received.Equal(clock.Now()) || !got.NextAttempt.Equal(clock.Now()) || !bytes.Equal(got.Body, want.Body) {
			t.Errorf("replayed event = %+v; want a fresh event received now with the original body", got)
		}
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, replayDir)); len(entries) != 0 {
		t.Errorf("replay directory holds %d files after ingestion, want 0", len(entries))
	}
	st, _ := sp.Stats()
	if st["a"].DeadLetters != 0 || st["a"].Pending != 2 || st["b"].DeadLetters != 1 {
		t.Errorf("Stats after replay: a %+v, b %+v", st["a"], st["b"])
	}

	t.Run("event still pending is not spooled twice", func(t *testing.T) {
		dl := DeadLetter{ID: a1.ID, Workspace: "a", Type: "delivery", DedupKey: a1.DedupKey, Body: a1.Body}
		if err := writeDeadLetter(dir, &dl); err != nil {
			t.Fatal(err)
		}
		if _, err := RequestReplay(dir, "a"); err != nil {
			t.Fatal(err)
		}
		if n, err := sp.IngestReplays(); err != nil || n != 0 {
			t.Fatalf("IngestReplays = %d, %v; want 0, nil", n, err)
		}
		if got := len(pendingIDs(t, sp)); got != 2 {
			t.Fatalf("pending = %d, want 2", got)
		}
	})
	t.Run("malformed file stays and is reported", func(t *testing.T) {
		bad := filepath.Join(dir, replayDir, "bad.json")
		if err := os.WriteFile(bad, []byte(`{"workspace":"../etc","type":"delivery"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(bad)
		if _, err := sp.IngestReplays(); err == nil || !strings.Contains(err.Error(), "bad.json") {
			t.Fatalf("IngestReplays error = %v, want one naming bad.json", err)
		}
		if _, err := os.Stat(bad); err != nil {
			t.Fatalf("malformed replay file was removed: %v", err)
		}
	})
	t.Run("all workspaces, ingested when the spool opens", func(t *testing.T) {
		if err := sp.Close(); err != nil {
			t.Fatal(err)
		}
		if n, err := RequestReplay(dir, ""); err != nil || n != 1 {
			t.Fatalf("RequestReplay(all) = %d, %v; want 1, nil", n, err)
		}
		sp2 := openSpool(t, dir, SpoolOptions{Now: clock.Now})
		if pendingIDs(t, sp2)[b3.ID] == nil {
			t.Fatalf("event %s replayed while the spool was closed is not pending after open", b3.ID)
		}
		if st, _ := sp2.Stats(); st["b"].DeadLetters != 0 {
			t.Fatalf("Stats after replay: b %+v", st["b"])
		}
	})
}

func TestDeadLetterFileFormat(t *testing.T) {
	// Operators' scripts read these files: keep the field names stable.
	dir := t.TempDir()
	sp := openSpool(t, dir, SpoolOptions{})
	ev := writeLetter(t, sp, "main", 1)
	raw, err := os.ReadFile(filepath.Join(dir, deadDir, "main", ev.ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"id", "workspace", "workspace_id", "type", "content_type", "received", "dead_at", "attempts", "reason", "dedup_key", "body"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("dead-letter file lacks field %q", name)
		}
	}
}

func TestRequestReplayMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	n, err := RequestReplay(dir, "")
	if err != nil || n != 0 {
		t.Fatalf("RequestReplay = %d, %v; want 0, nil", n, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("RequestReplay created %s (stat: %v); a mistyped directory must stay absent", dir, err)
	}
}
