package names

import "testing"

func TestCheck(t *testing.T) {
	for name, ok := range map[string]bool{
		"main": true, "test-space": true, "acme.eu_1": true, "...": true,
		"": false, ".": false, "..": false, "a/b": false, "a b": false, "é": false, "a%2e": false,
		string(make([]byte, MaxLength+1)): false,
	} {
		if err := Check(name); (err == nil) != ok {
			t.Errorf("Check(%q) = %v, want ok %t", name, err, ok)
		}
	}
	long := make([]byte, MaxLength)
	for i := range long {
		long[i] = 'a'
	}
	if err := Check(string(long)); err != nil {
		t.Errorf("a name of MaxLength: %v", err)
	}
}
