package policy

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// regionCases are numbers with the region the numbering plan places them
// in. Shared calling codes are resolved number by number.
var regionCases = []struct {
	name, number, region string
}{
	{"US", "+12025550123", "US"},
	{"DO shares +1", "+18095550123", "DO"},
	{"CA shares +1", "+14165550123", "CA"},
	{"+1 in no region", "+15550100123", ""},
	{"GB mobile", "+447924123456", "GB"},
	{"GG shares +44", "+447781123456", "GG"},
	{"JE shares +44", "+441534123456", "JE"},
	{"IM shares +44", "+441624123456", "IM"},
	{"RU", "+79161234567", "RU"},
	{"KZ shares +7", "+77011234567", "KZ"},
	{"FI", "+358457123456", "FI"},
	{"AX shares +358", "+35818123456", "AX"},
	{"FR single region", "+33612345678", "FR"},
	{"IE single region", "+353871234567", "IE"},
	{"CN single region", "+8613812345678", "CN"},
	{"international network +882", "+882123456789", ""},
	{"international network +883", "+883123456789", ""},
	{"toll free +800", "+80012345678", ""},
	{"unassigned +999", "+999123456789", ""},
	{"unassigned +801", "+80112345678", ""},
}

func TestRegion(t *testing.T) {
	cached := newResolver(64)
	uncached := newResolver(0)
	for _, tt := range regionCases {
		t.Run(tt.name, func(t *testing.T) {
			for round := range 2 { // the second round reads the cache
				if got := cached.region(tt.number); got != tt.region {
					t.Errorf("round %d: cached region = %q, want %q", round, got, tt.region)
				}
			}
			if got := uncached.region(tt.number); got != tt.region {
				t.Errorf("uncached region = %q, want %q", got, tt.region)
			}
			var none *resolver
			if got := none.region(tt.number); got != tt.region {
				t.Errorf("nil resolver region = %q, want %q", got, tt.region)
			}
		})
	}
}

// TestRegionFastPathAgreesWithLibrary checks the calling-code table
// against the library itself: for every assigned calling code, a number
// under it is placed alike.
func TestRegionFastPathAgreesWithLibrary(t *testing.T) {
	r := newResolver(0)
	for cc := 1; cc < len(callingCodes()); cc++ {
		if !callingCodes()[cc].known {
			continue
		}
		number := "+" + strconv.Itoa(cc) + "41555012345678"[:11-len(strconv.Itoa(cc))]
		t.Run(number[:1+len(strconv.Itoa(cc))], func(t *testing.T) {
			if !isE164(number) {
				t.Fatalf("test number is not E.164")
			}
			if got, want := r.region(number), libraryRegion(number); got != want {
				t.Errorf("region = %q, library says %q", got, want)
			}
		})
	}
}

// TestRegionCacheAsksOnce checks that the library is asked once per
// shared-code number, and never for a single-region code.
func TestRegionCacheAsksOnce(t *testing.T) {
	r := newResolver(64)
	var calls atomic.Int64
	r.library = func(n string) string { calls.Add(1); return libraryRegion(n) }

	for range 3 {
		if got := r.region("+447781123456"); got != "GG" {
			t.Fatalf("region = %q, want GG", got)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("library asked %d times for one number, want 1", n)
	}
	r.region("+33612345678")
	if n := calls.Load(); n != 1 {
		t.Errorf("library asked for a single-region number: %d calls, want 1", n)
	}
}

// TestRegionCacheWays checks that numbers meeting in one set do not evict
// each other while the set has room: a cache of one set holds 4 numbers.
func TestRegionCacheWays(t *testing.T) {
	r := newResolver(1) // rounded up to one set of 4 slots
	if len(r.slots) != cacheWays {
		t.Fatalf("slots = %d, want %d", len(r.slots), cacheWays)
	}
	var calls atomic.Int64
	r.library = func(n string) string { calls.Add(1); return libraryRegion(n) }
	numbers := []string{"+447781123456", "+441534123456", "+441624123456", "+447924123456"}
	for range 10 {
		for _, n := range numbers {
			r.region(n)
		}
	}
	if n := calls.Load(); n != int64(len(numbers)) {
		t.Errorf("library asked %d times for %d numbers, want once each", n, len(numbers))
	}
}

// TestRegionCacheBounded fills a small cache with many numbers: it never
// grows, and every answer stays right when slots are overwritten.
func TestRegionCacheBounded(t *testing.T) {
	r := newResolver(5) // rounded up to 8 slots
	if len(r.slots) != 8 {
		t.Fatalf("slots = %d, want 8", len(r.slots))
	}
	answers := map[string]string{}
	r.library = func(n string) string { return answers[n] }
	for i := range 1000 {
		n := "+1202555" + strconv.Itoa(1000+i)
		answers[n] = string([]byte{byte('A' + i%26), byte('A' + i/26%26)})
	}
	for round := range 2 {
		for n, want := range answers {
			if got := r.region(n); got != want {
				t.Fatalf("round %d: region = %q, want %q", round, got, want)
			}
		}
	}
	filled := 0
	for i := range r.slots {
		if r.slots[i].Load() != nil {
			filled++
		}
	}
	if filled > 8 || len(r.slots) != 8 {
		t.Errorf("cache grew: %d slots, %d filled", len(r.slots), filled)
	}
}

// TestRegionCacheKeepsNoBody checks that a cached number does not share
// memory with the body it came from.
func TestRegionCacheKeepsNoBody(t *testing.T) {
	r := newResolver(1)
	body := []byte(`"+447781123456"`)
	number := string(body[1 : len(body)-1])
	r.region(number)
	e := r.slots[0].Load()
	if e == nil || e.number != number {
		t.Fatalf("cache entry = %+v, want the number", e)
	}
	if unsafe.StringData(e.number) == unsafe.StringData(number) {
		t.Error("cached number shares memory with its source")
	}
}

func TestRegionConcurrent(t *testing.T) {
	r := newResolver(4) // small: slots are overwritten while read
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				tt := regionCases[(g+i)%len(regionCases)]
				if got := r.region(tt.number); got != tt.region {
					t.Errorf("%s: region = %q, want %q", tt.name, got, tt.region)
					return
				}
			}
		}()
	}
	wg.Wait()
}
