package signals

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestBook(t *testing.T) {
	dir := t.TempDir()
	if qs, err := ReadBook(dir); err != nil || qs != nil {
		t.Fatalf("empty dir: %v, %v", qs, err)
	}
	q := New("acme", "GB", ModeEnforce, Reading{Signal: SignalVolume, Value: 300, Threshold: 61.2, Count: 300}, base, time.Hour)
	if err := WriteBook(dir, []Quarantine{q}); err != nil {
		t.Fatal(err)
	}
	got, err := ReadBook(dir)
	if err != nil || !reflect.DeepEqual(got, []Quarantine{q}) {
		t.Fatalf("read back %+v, %v; want %+v", got, err, q)
	}
	if again := New("acme", "GB", ModeEnforce, Reading{Signal: SignalVolume}, base.Add(time.Millisecond), time.Hour); again.ID == q.ID {
		t.Error("two quarantines share an id")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left %d files, want only %s", len(entries), BookFile)
	}
}

func TestLifts(t *testing.T) {
	dir := t.TempDir()
	for _, l := range []Lift{{"globex", "IE"}, {"acme", "GB"}, {"acme", "GB"}} {
		if err := RequestLift(dir, l.Tenant, l.Country); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, liftDir, "bad.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	lifts, err := TakeLifts(dir)
	if err == nil {
		t.Error("an unreadable request was not reported")
	}
	if want := []Lift{{"acme", "GB"}, {"globex", "IE"}}; !reflect.DeepEqual(lifts, want) {
		t.Errorf("lifts %v, want %v (one per tenant × country)", lifts, want)
	}
	if again, err := TakeLifts(dir); len(again) != 0 || err != nil {
		t.Errorf("requests were not removed: %v, %v", again, err)
	}
}
