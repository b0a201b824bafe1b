package alerts

import "testing"

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
