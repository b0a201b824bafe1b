package money

import (
	"math/big"
	"slices"
)

// Split divides total into shares proportional to weights (a send's
// total_cost among its messages, by their segments), in whole
// micro-units, so that the shares sum exactly to total.
//
// Each share is first its proportion of total rounded toward zero; the
// micro-units left over go one each to the shares with the largest
// remainders (the largest-remainder method), the earlier index first when
// remainders tie. A share therefore differs from its exact proportion by
// less than one micro-unit, and has the sign of total. A weight of zero
// gets a zero share; a negative weight counts as zero. When every weight
// is zero, total is split evenly by the same rule. With no weights there
// is nothing to split among, and the result is empty.
func Split(total Amount, weights []int) []Amount {
	if len(weights) == 0 {
		return []Amount{}
	}
	w := make([]*big.Int, len(weights))
	sum := new(big.Int)
	for i, v := range weights {
		w[i] = big.NewInt(int64(max(v, 0)))
		sum.Add(sum, w[i])
	}
	if sum.Sign() == 0 {
		for i := range w {
			w[i].SetInt64(1)
		}
		sum.SetInt64(int64(len(w)))
	}

	// share i = (|total| × w[i]) / sum, with remainder rem[i] < sum.
	mag := new(big.Int).SetUint64(magnitude(int64(total)))
	shares := make([]Amount, len(w))
	rem := make([]*big.Int, len(w))
	var given uint64
	for i := range w {
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(mag, w[i]), sum, new(big.Int))
		shares[i] = Amount(q.Uint64()) // q ≤ |total| ≤ 2^63: the magnitude, negated below if need be
		given += q.Uint64()
		rem[i] = r
	}

	// The remainders sum to a multiple of sum, left × sum, each below sum:
	// more than left of them are not zero, so the units left over never
	// go to a zero weight.
	left := magnitude(int64(total)) - given
	order := make([]int, len(w))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return rem[b].Cmp(rem[a]) })
	for _, i := range order[:left] {
		shares[i]++
	}

	if total < 0 {
		for i := range shares {
			shares[i] = -shares[i]
		}
	}
	return shares
}
