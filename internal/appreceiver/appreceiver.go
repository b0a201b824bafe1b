// Package appreceiver is an app's webhook receiver for tests and the demo:
// it records every event the sidecar delivers to it, and can play an app
// that is down.
package appreceiver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// Delivery is one delivery attempt the receiver got.
type Delivery struct {
	Header http.Header
	Body   []byte
	At     time.Time
	Status int // what the receiver answered
}

// Accepted reports whether the receiver took the delivery (answered 2xx).
func (d Delivery) Accepted() bool { return d.Status >= 200 && d.Status < 300 }

// EventID is the delivery's X-Restlink-Event-Id.
func (d Delivery) EventID() string { return d.Header.Get("X-Restlink-Event-Id") }

// Receiver is a recording webhook receiver on a loopback port.
type Receiver struct {
	*httptest.Server
	status     atomic.Int32
	mu         sync.Mutex
	deliveries []Delivery
}

// New starts a receiver that answers 200.
func New() *Receiver {
	r := new(Receiver)
	r.status.Store(http.StatusOK)
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	return r
}

// SetStatus sets what the receiver answers from now on: 503 plays an app
// that is deploying; 200 one that is back.
func (r *Receiver) SetStatus(code int) { r.status.Store(int32(code)) }

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	status := int(r.status.Load())
	if err != nil {
		status = http.StatusBadRequest
	}
	r.mu.Lock()
	r.deliveries = append(r.deliveries, Delivery{Header: req.Header.Clone(), Body: body, At: time.Now(), Status: status})
	r.mu.Unlock()
	w.WriteHeader(status)
}

// Deliveries returns every attempt so far, in arrival order.
func (r *Receiver) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.deliveries...)
}

// Accepted returns how many times the receiver took each event id.
func (r *Receiver) Accepted() map[string]int {
	out := make(map[string]int)
	for _, d := range r.Deliveries() {
		if d.Accepted() {
			out[d.EventID()]++
		}
	}
	return out
}
