package ledger

import (
	"fmt"
	"os"
)

// replay rebuilds the book from the segments of days from from on, in
// order, as the writes built it. A line that cannot be used is a
// problem of the Recovery, not a failure; an incomplete last line is
// removed from its segment, so that the next line written starts on a
// line of its own. Only a segment that cannot be read fails replay.
func (l *Ledger) replay(from string) error {
	days, err := segmentDays(l.dir)
	if err != nil {
		return fmt.Errorf("listing segments: %w", err)
	}
	for _, day := range days {
		if day < from {
			continue
		}
		path := segmentPath(l.dir, day)
		lines := 0
		end, tail, err := scanSegment(path, func(n int, line []byte) {
			lines = n
			if err := l.replayLine(day, line); err != nil {
				l.recovered.Problems = append(l.recovered.Problems, &LineError{File: path, Line: n, Err: err})
				return
			}
			l.recovered.Records++
		})
		if err != nil {
			return fmt.Errorf("replaying segment %s: %w", path, err)
		}
		if tail > 0 {
			if err := truncateSynced(path, end); err != nil {
				return fmt.Errorf("removing the incomplete last line of %s: %w", path, err)
			}
			l.recovered.Problems = append(l.recovered.Problems, &LineError{File: path, Line: lines + 1, Err: ErrTornLine})
		}
		l.recovered.Segments++
	}
	return nil
}

// replayLine applies one line of the segment of day to the book.
func (l *Ledger) replayLine(day string, line []byte) error {
	if line == nil {
		return ErrLongLine
	}
	rec, err := parseLine(line)
	if err != nil {
		return err
	}
	switch rec := rec.(type) {
	case *Reservation:
		if err := l.book.canReserve(rec.ID); err != nil {
			return err
		}
		l.book.reserve(rec)
	case *Settlement:
		// A settlement whose reservation is not open settles a send
		// reserved before the replayed days: it no longer counts.
		if o, err := l.book.reserved(rec.ID); err == nil {
			l.book.settle(o, rec)
			l.recallSettled(o, rec)
		}
	case *Adjustment:
		k := reportKeyOf(rec.MessageID, rec.Status)
		if !l.book.taken(k, addDays(day, -l.dupDays)) {
			l.book.adjust(rec, k, day)
		}
		if m, ok := l.recalled[rec.MessageID]; ok {
			m.CostMicros = rec.CostMicros
			l.recalled[rec.MessageID] = m
		}
	}
	return nil
}

// truncateSynced cuts the file at path to size and syncs it.
func truncateSynced(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// recallSettled remembers, when Options.RecallMessages asks for it, the
// messages of a charged send replayed from a day from RecallSince on.
func (l *Ledger) recallSettled(o openSend, s *Settlement) {
	if l.recalled == nil || s.Outcome != Charged || o.day < l.recallSince {
		return
	}
	for _, m := range s.Messages {
		l.recalled[m.ID] = MessageCost{ID: m.ID, Tenant: o.tenant, Workspace: o.workspace, Country: m.Country,
			Day: o.day, Currency: o.currency, CostMicros: m.ShareMicros}
	}
}
