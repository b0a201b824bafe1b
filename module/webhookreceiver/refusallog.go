package webhookreceiver

import (
	"slices"
	"sync"
	"time"
)

// refusalLogEvery is how often a "webhook refused" line may be written
// for one reason: refusals come from the internet, and every one is
// counted in the metrics.
const refusalLogEvery = time.Minute

// refusalLog lets through one "webhook refused" line per reason each
// refusalLogEvery, carrying the count of refusals since the reason's last
// line.
type refusalLog struct {
	mu     sync.Mutex
	last   [len(refusals)]time.Time // of each reason's last line
	unsaid [len(refusals)]int       // refusals since
}

// note records a refusal for reason at now; it returns how many refusals
// the line due now covers, or 0 if no line is due.
func (l *refusalLog) note(reason string, now time.Time) int {
	i := slices.Index(refusals[:], reason)
	if i < 0 {
		return 1
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.unsaid[i]++
	if !l.last[i].IsZero() && now.Sub(l.last[i]) < refusalLogEvery {
		return 0
	}
	n := l.unsaid[i]
	l.unsaid[i], l.last[i] = 0, now
	return n
}
