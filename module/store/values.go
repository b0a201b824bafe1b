package store

// chargesAndValues returns room for an admission's charges (capacity nc;
// nil when nc is 0) and its limits' values (length nv), in one allocation
// when there are at most four limits: Values must not cost the common
// admission an allocation of its own.
func chargesAndValues(nc, nv int) ([]Charge, []int64) {
	switch {
	case nv == 0:
		return nil, nil
	case nv == 1:
		b := new(struct {
			c [1]Charge
			v [1]int64
		})
		return charges(b.c[:], nc), b.v[:]
	case nv == 2:
		b := new(struct {
			c [2]Charge
			v [2]int64
		})
		return charges(b.c[:], nc), b.v[:]
	case nv == 3:
		b := new(struct {
			c [3]Charge
			v [3]int64
		})
		return charges(b.c[:], nc), b.v[:]
	case nv == 4:
		b := new(struct {
			c [4]Charge
			v [4]int64
		})
		return charges(b.c[:], nc), b.v[:]
	}
	if nc == 0 {
		return nil, make([]int64, nv)
	}
	return make([]Charge, 0, nc), make([]int64, nv)
}

// charges is buf with room for nc charges, or nil when nc is 0.
func charges(buf []Charge, nc int) []Charge {
	if nc == 0 {
		return nil
	}
	return buf[:0:nc]
}

// charged counts the limits that charge something.
func charged(limits []Limit) int {
	n := 0
	for i := range limits {
		if limits[i].Cost > 0 {
			n++
		}
	}
	return n
}

// sameCounter reports whether limits a and b count in the same counter.
func sameCounter(a, b *Limit) bool {
	return a.Key == b.Key && a.Window == b.Window && a.Period.Name == b.Period.Name
}
