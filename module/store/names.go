package store

import "strconv"

// String returns the verdict's name, for logs.
func (v Verdict) String() string {
	switch v {
	case Admitted:
		return "admitted"
	case Refused:
		return "refused"
	case Replay:
		return "replay"
	case InProgress:
		return "in_progress"
	case KeyReused:
		return "key_reused"
	case OutcomeUnknown:
		return "outcome_unknown"
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// String returns the outcome's name, for logs.
func (o Outcome) String() string {
	switch o {
	case Release:
		return "release"
	case Completed:
		return "completed"
	case Unknown:
		return "unknown"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// String returns the marker state's name, for logs.
func (s MarkerState) String() string {
	switch s {
	case MarkerNew:
		return "new"
	case MarkerPending:
		return "pending"
	case MarkerDone:
		return "done"
	}
	return "marker(" + strconv.Itoa(int(s)) + ")"
}
