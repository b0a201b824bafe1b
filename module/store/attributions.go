package store

import (
	"errors"
	"fmt"
	"time"
)

// validateAttributions checks an Attribute call. Its errors name
// attributions by position.
func validateAttributions(attributions []Attribution, ttl time.Duration) error {
	if ttl <= 0 {
		return errors.New("attributing: ttl must be positive")
	}
	for i := range attributions {
		a := &attributions[i]
		switch {
		case a.MessageID == "":
			return fmt.Errorf("attributing: attribution %d has no message id", i)
		case a.Cost < 0:
			return fmt.Errorf("attributing: attribution %d has a negative cost", i)
		}
	}
	return nil
}

// validateReconcile checks a Reconcile call.
func validateReconcile(messageID string, cost int64) error {
	switch {
	case messageID == "":
		return errors.New("reconciling: no message id")
	case cost < 0:
		return errors.New("reconciling: negative cost")
	}
	return nil
}
