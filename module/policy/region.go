package policy

import (
	"hash/maphash"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// callingCode is what the numbering plan says about one country calling
// code.
type callingCode struct {
	known bool // the plan assigns the code
	// region is the ISO 3166-1 alpha-2 code of the code's only region;
	// "" for international networks (+882, +883, …) and shared codes.
	region string
	shared bool // several regions share the code: ask the library
}

// callingCodes maps every country calling code (1 to 999) to what the
// numbering plan says about it. Built from the library's metadata on first
// use (a sidecar without a send policy never builds it) and never changed:
// it is what makes a single-region destination a table lookup instead of
// ~20 µs of regular expressions.
var callingCodes = sync.OnceValue(buildCallingCodes)

func buildCallingCodes() *[1000]callingCode {
	var t [1000]callingCode
	for cc := 1; cc < len(t); cc++ {
		regions := phonenumbers.GetRegionCodesForCountryCode(cc)
		switch {
		case len(regions) == 0:
		case len(regions) > 1:
			t[cc] = callingCode{known: true, shared: true}
		case regionIndex(regions[0]) >= 0:
			t[cc] = callingCode{known: true, region: regions[0]}
		default:
			// "001": a non-geographical entity, in no country.
			t[cc] = callingCode{known: true}
		}
	}
	return &t
}

// regionIndex maps a two-letter upper-case region code to 0…675; -1 for
// anything else.
func regionIndex(region string) int {
	if len(region) != 2 {
		return -1
	}
	a, b := region[0], region[1]
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' {
		return -1
	}
	return int(a-'A')*26 + int(b-'A')
}

// resolver places E.164 numbers in their region. Numbers under a calling
// code with a single region are answered from callingCodes; numbers under a
// shared code (+1, +7, +44, …) are parsed by the library, whose answers are
// kept in a small cache. The cache is bounded (a new answer takes an empty
// slot of its set, or else a random one) and lock-free: every slot is an
// atomic pointer to an immutable entry.
type resolver struct {
	seed  maphash.Seed
	slots []atomic.Pointer[regionEntry]
	mask  uint64 // number of sets - 1
	// library places a number under a shared code: libraryRegion, or a
	// stand-in that counts calls in tests.
	library func(number string) string
}

// regionEntry is one cached answer.
type regionEntry struct {
	number string
	region string
}

// cacheWays is the cache's associativity: a number may sit in any of the
// slots of its set, so that a few busy numbers whose hashes meet do not
// keep evicting each other.
const cacheWays = 4

// defaultCacheSlots is the size of a policy's region cache: enough for the
// busy numbers of shared codes, 32 KiB of slots.
const defaultCacheSlots = 4096

// newResolver returns a resolver whose cache has at least slots entries,
// a power of two; 0 disables the cache.
func newResolver(slots int) *resolver {
	r := &resolver{seed: maphash.MakeSeed(), library: libraryRegion}
	if slots > 0 {
		n := cacheWays
		for n < slots {
			n <<= 1
		}
		r.slots = make([]atomic.Pointer[regionEntry], n)
		r.mask = uint64(n/cacheWays - 1)
	}
	return r
}

// region returns the ISO 3166-1 alpha-2 region of an E.164 number (as
// checked by isE164), or "" when the numbering plan places it in no
// country: an unassigned calling code, an international network, or a
// number that fits none of the regions sharing its code. A nil resolver
// resolves without a cache.
func (r *resolver) region(number string) string {
	cc, _ := callingCodeOf(number)
	switch info := callingCodes()[cc]; {
	case !info.known:
		return ""
	case !info.shared:
		return info.region
	}
	return r.shared(number)
}

// callingCodeOf returns the country calling code that begins an E.164
// number (as checked by isE164) and how many digits it has; 0, 0 when no
// assigned code does.
func callingCodeOf(number string) (cc, digits int) {
	for i := 1; i <= 3 && i < len(number); i++ {
		cc = cc*10 + int(number[i]-'0')
		if callingCodes()[cc].known {
			return cc, i
		}
		// Calling codes are prefix-free: try a longer one.
	}
	return 0, 0
}

// shared resolves a number under a calling code that several regions
// share, through the cache.
func (r *resolver) shared(number string) string {
	switch {
	case r == nil:
		return libraryRegion(number)
	case r.slots == nil:
		return r.library(number)
	}
	h := maphash.String(r.seed, number)
	set := r.slots[(h&r.mask)*cacheWays:][:cacheWays]
	for i := range set {
		if e := set[i].Load(); e != nil && e.number == number {
			return e.region
		}
	}
	region := r.library(number)
	victim := rand.IntN(cacheWays)
	for i := range set {
		if set[i].Load() == nil {
			victim = i
			break
		}
	}
	// The number is usually a slice of a request body: clone it so that
	// the cache does not keep whole bodies alive.
	set[victim].Store(&regionEntry{number: strings.Clone(number), region: region})
	return region
}

// libraryRegion asks the numbering plan, at the cost of its regular
// expressions.
func libraryRegion(number string) string {
	n, err := phonenumbers.Parse(number, "")
	if err != nil {
		return ""
	}
	region := phonenumbers.GetRegionCodeForNumber(n)
	if regionIndex(region) < 0 {
		return ""
	}
	return region
}
