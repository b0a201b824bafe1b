package money

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	tests := []struct {
		name    string
		total   Amount
		weights []int
		want    []Amount
	}{
		{"by segments", 25_500, []int{1, 2}, []Amount{8_500, 17_000}},
		{"remainder to the largest", 10, []int{1, 1, 1}, []Amount{4, 3, 3}},
		{"ties to the earlier index", 2, []int{1, 1, 1}, []Amount{1, 1, 0}},
		{"largest remainder wins over index", 10, []int{1, 2, 4}, []Amount{1, 3, 6}}, // 1.43, 2.86, 5.71
		{"one weight", 123, []int{5}, []Amount{123}},
		{"zero weight gets nothing", 10, []int{0, 3, 0}, []Amount{0, 10, 0}},
		{"zero weights beside a remainder", 7, []int{2, 0, 2, 0}, []Amount{4, 0, 3, 0}},
		{"negative weight counts as zero", 9, []int{-5, 3}, []Amount{0, 9}},
		{"all zero: even", 10, []int{0, 0, 0}, []Amount{4, 3, 3}},
		{"all negative: even", 3, []int{-1, -1}, []Amount{2, 1}},
		{"zero total", 0, []int{1, 2}, []Amount{0, 0}},
		{"negative total", -10, []int{1, 1, 1}, []Amount{-4, -3, -3}},
		{"fewer units than shares", 2, []int{3, 1, 3}, []Amount{1, 0, 1}},
		{"no weights", 10, nil, []Amount{}},
		{"largest total", math.MaxInt64, []int{1, 1}, []Amount{math.MaxInt64/2 + 1, math.MaxInt64 / 2}},
		{"smallest total", math.MinInt64, []int{1, 1}, []Amount{math.MinInt64 / 2, math.MinInt64 / 2}},
		{"smallest total, one share", math.MinInt64, []int{0, 7}, []Amount{0, math.MinInt64}},
		{"weights that overflow an int64 sum", 3, []int{math.MaxInt, math.MaxInt, math.MaxInt}, []Amount{1, 1, 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Split(tc.total, tc.weights); !slices.Equal(got, tc.want) {
				t.Errorf("Split(%d, %v) = %v, want %v", tc.total, tc.weights, got, tc.want)
			}
		})
	}
}

// TestSplitProperties: for many random totals and weights, the shares
// sum exactly to the total and each is within one micro-unit of its exact
// proportion.
func TestSplitProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 1))
	for range 20_000 {
		total := Amount(rng.Int64N(1_000_000_000))
		switch rng.IntN(4) {
		case 0:
			total = -total
		case 1:
			total = Amount(rng.Uint64()) // any int64
		}
		weights := make([]int, 1+rng.IntN(100))
		for i := range weights {
			switch rng.IntN(5) {
			case 0:
				weights[i] = 0
			case 1:
				weights[i] = rng.Int()
			default:
				weights[i] = 1 + rng.IntN(10)
			}
		}
		checkSplit(t, total, weights)
	}
}

func FuzzSplit(f *testing.F) {
	f.Add(int64(25_500), []byte{1, 2})
	f.Add(int64(10), []byte{0, 0, 0})
	f.Add(int64(math.MinInt64), []byte{0, 255, 7})
	f.Add(int64(math.MaxInt64), []byte{200, 128, 1})
	f.Fuzz(func(t *testing.T, total int64, b []byte) {
		if len(b) == 0 || len(b) > 100 { // a send has at most 100 messages
			return
		}
		// Each byte is a weight: a small one, or (high bit set) one near
		// the largest int, whose sum overflows 64 bits.
		weights := make([]int, len(b))
		for i, c := range b {
			if c&0x80 != 0 {
				weights[i] = math.MaxInt - int(c&0x7f)
			} else {
				weights[i] = int(c) - 8 // a few negative weights
			}
		}
		checkSplit(t, Amount(total), weights)
	})
}

// checkSplit checks Split's result for total and weights against exact
// arithmetic.
func checkSplit(t *testing.T, total Amount, weights []int) {
	t.Helper()
	shares := Split(total, weights)
	if len(shares) != len(weights) {
		t.Fatalf("Split(%d, %v) has %d shares", total, weights, len(shares))
	}
	effective := make([]int64, len(weights))
	all := true
	for i, w := range weights {
		effective[i] = int64(max(w, 0))
		all = all && effective[i] == 0
	}
	if all {
		for i := range effective {
			effective[i] = 1
		}
	}
	sumW, sum := new(big.Int), new(big.Int)
	for i := range weights {
		sumW.Add(sumW, big.NewInt(effective[i]))
		sum.Add(sum, big.NewInt(int64(shares[i])))
	}
	if sum.Cmp(big.NewInt(int64(total))) != 0 {
		t.Fatalf("Split(%d, %v) = %v sums to %v", total, weights, shares, sum)
	}
	for i, s := range shares {
		if effective[i] == 0 && s != 0 {
			t.Fatalf("Split(%d, %v): weight %d got %d", total, weights, weights[i], s)
		}
		// |share - total×w/W| < 1, that is |share×W - total×w| < W.
		diff := new(big.Int).Mul(big.NewInt(int64(s)), sumW)
		diff.Sub(diff, new(big.Int).Mul(big.NewInt(int64(total)), big.NewInt(effective[i])))
		if diff.CmpAbs(sumW) >= 0 {
			t.Fatalf("Split(%d, %v): share %d is %d, a unit or more from its proportion", total, weights, i, s)
		}
	}
}
