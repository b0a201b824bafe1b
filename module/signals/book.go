package signals

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/23telecom/restlink-sidecar/internal/durable"
)

// The files a sidecar without a shared store keeps its quarantines in,
// in its ledger directory.
const (
	// BookFile holds the quarantines in force, rewritten whole on every
	// change, so that they survive a restart.
	BookFile = "quarantines.json"
	// liftDir holds lift requests: one file per tenant × country an
	// operator lifted, taken by the running sidecar.
	liftDir = "quarantine-lifts"
)

// maxBook bounds the quarantine file read.
const maxBook = 16 << 20

// WriteBook replaces the quarantine file in dir with qs, durably: a
// crash leaves the old file or the new one.
func WriteBook(dir string, qs []Quarantine) error {
	body, err := json.MarshalIndent(qs, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(dir, BookFile, append(body, '\n'))
}

// ReadBook reads the quarantine file in dir; without one, there are none.
func ReadBook(dir string) ([]Quarantine, error) {
	f, err := os.Open(filepath.Join(dir, BookFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var qs []Quarantine
	dec := json.NewDecoder(io.LimitReader(f, maxBook))
	if err := dec.Decode(&qs); err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, BookFile), err)
	}
	return qs, nil
}

// Lift is a quarantine an operator lifted.
type Lift struct {
	Tenant  string `json:"tenant"`
	Country string `json:"country"`
}

// RequestLift asks the sidecar keeping its quarantines in dir to lift a
// tenant's country: a running sidecar takes the request within its check
// period, a stopped one when it starts.
func RequestLift(dir, tenant, country string) error {
	body, err := json.Marshal(Lift{Tenant: tenant, Country: country})
	if err != nil {
		return err
	}
	sub := filepath.Join(dir, liftDir)
	if err := os.MkdirAll(sub, 0o700); err != nil {
		return err
	}
	return durable.WriteFile(sub, id(tenant, country, "lift", time.Time{})+".json", body)
}

// TakeLifts returns the lift requests in dir and removes them. A request
// that cannot be read is removed and reported.
func TakeLifts(dir string) ([]Lift, error) {
	sub := filepath.Join(dir, liftDir)
	entries, err := os.ReadDir(sub)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var lifts []Lift
	var errs []error
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue // a request being written (durable.TempPrefix)
		}
		path := filepath.Join(sub, e.Name())
		body, err := os.ReadFile(path)
		var l Lift
		if err == nil {
			err = json.Unmarshal(body, &l)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("lift request %s: %w", e.Name(), err))
		} else {
			lifts = append(lifts, l)
		}
		if err := os.Remove(path); err != nil {
			errs = append(errs, err)
		}
	}
	slices.SortFunc(lifts, func(a, b Lift) int { return strings.Compare(Key(a.Tenant, a.Country), Key(b.Tenant, b.Country)) })
	return lifts, errors.Join(errs...)
}
