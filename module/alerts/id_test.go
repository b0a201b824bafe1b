package alerts

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// TestIDGolden pins the id of one alert: sidecars of different versions
// must compute the same id, so the format can never change unnoticed.
func TestIDGolden(t *testing.T) {
	got := ID("acme", PeriodDaily, "2026-12-05", TypeSoft)
	if want := goldenID; got != want {
		t.Errorf("ID = %s, want %s", got, want)
	}
	// The same bytes, built by hand as the doc comment describes them.
	var msg []byte
	for _, f := range []string{"acme", "daily", "2026-12-05", "budget_soft"} {
		msg = append(msg, 0, 0, 0, 0, 0, 0, 0, byte(len(f)))
		msg = append(msg, f...)
	}
	sum := sha256.Sum256(msg)
	if want := hex.EncodeToString(sum[:16]); got != want {
		t.Errorf("ID = %s, want %s (the documented format)", got, want)
	}
}

// goldenID is ID("acme", "daily", "2026-12-05", "budget_soft"), computed
// independently (Python's hashlib over the same bytes).
const goldenID = "8938258d50b6ff10ad4568bf645c5a9e"

// TestIDDeterministic: the same fields give the same id, a valid one.
func TestIDDeterministic(t *testing.T) {
	a := ID("tenant-1", PeriodMonthly, "2026-12", TypeExhausted)
	b := ID("tenant-1", PeriodMonthly, "2026-12", TypeExhausted)
	if a != b {
		t.Fatalf("ID differs between calls: %s, %s", a, b)
	}
	if len(a) != 32 {
		t.Errorf("len(ID) = %d, want 32", len(a))
	}
	if err := checkID(a); err != nil {
		t.Errorf("checkID(ID(…)) = %v", err)
	}
}

// TestIDDistinct: changing any field, or moving bytes from one field to
// the next, changes the id.
func TestIDDistinct(t *testing.T) {
	fields := [][4]string{
		{"acme", "daily", "2026-12-05", "budget_soft"},
		{"acme2", "daily", "2026-12-05", "budget_soft"},
		{"acme", "monthly", "2026-12-05", "budget_soft"},
		{"acme", "daily", "2026-12-06", "budget_soft"},
		{"acme", "daily", "2026-12-05", "budget_exhausted"},
		// The same text joined, split differently.
		{"ab", "c", "", ""},
		{"a", "bc", "", ""},
		{"a", "b", "c", ""},
		{"", "abc", "", ""},
		{"", "", "", "abc"},
		{"", "", "", ""},
		// A separator inside a field.
		{"a|b", "c", "", ""},
		{"a", "b|c", "", ""},
	}
	seen := make(map[string][4]string)
	for _, f := range fields {
		id := ID(f[0], f[1], f[2], f[3])
		if prev, ok := seen[id]; ok {
			t.Errorf("ID%q = ID%q = %s", f, prev, id)
		}
		seen[id] = f
	}
}
