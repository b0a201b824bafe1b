package store

// chargesAndValues returns room for admission a's charges (capacity nc,
// the limits with a Cost; nil when nc is 0) and its limits' values
// (length nv, zero): in a's ChargeBuf and ValueBuf when they have room,
// else in one allocation when there are at most four limits, so that
// Values do not cost an admission an allocation of its own.
func chargesAndValues(a *Admission) ([]Charge, []int64) {
	nc, nv := charged(a.Limits), len(a.Limits)
	chargeRoom, valueRoom := cap(a.ChargeBuf) >= nc, cap(a.ValueBuf) >= nv
	switch {
	case nv == 0:
		return nil, nil
	case chargeRoom && valueRoom:
		values := a.ValueBuf[:nv]
		clear(values)
		return charges(a.ChargeBuf, nc), values
	case chargeRoom:
		return charges(a.ChargeBuf, nc), make([]int64, nv)
	case valueRoom:
		values := a.ValueBuf[:nv]
		clear(values)
		return make([]Charge, 0, nc), values
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
