package restlink

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestCollapser: requests that join a call in flight get its answer; once
// it is finished, the next request leads a new call; an answer that is not
// shareable sends the waiting requests on their own.
func TestCollapser(t *testing.T) {
	var c collapser
	k := [32]byte{1}
	call, leader := c.join(k)
	if !leader {
		t.Fatal("the first request does not lead")
	}
	var wg sync.WaitGroup
	answers := make(chan *sharedAnswer, 10)
	for range 10 {
		follower, leads := c.join(k)
		if leads {
			t.Fatal("a second leader while the call is in flight")
		}
		wg.Add(1)
		go func() { defer wg.Done(); answers <- follower.wait(context.Background()) }()
	}
	c.finish(k, call, &sharedAnswer{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: []byte("{}")})
	wg.Wait()
	close(answers)
	for a := range answers {
		if a == nil || a.status != 200 || string(a.body) != "{}" {
			t.Errorf("follower got %+v", a)
		}
	}
	next, leader := c.join(k)
	if !leader {
		t.Error("after finish, a new request must lead a new call")
	}
	go c.finish(k, next, nil)
	if a := next.wait(context.Background()); a != nil {
		t.Errorf("a call finished without a shareable answer gave %+v", a)
	}
}

// TestCapturingWriter: the app gets the answer, and a copy is kept unless
// it is too large to share.
func TestCapturingWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	cw := &capturingWriter{ResponseWriter: rec}
	cw.Header().Set("X-A", "1")
	cw.WriteHeader(201)
	cw.Write([]byte("hello"))
	a := cw.answer()
	if a == nil || a.status != 201 || a.header.Get("X-A") != "1" || string(a.body) != "hello" || rec.Body.String() != "hello" {
		t.Errorf("captured %+v, app got %q", a, rec.Body.String())
	}
	big := &capturingWriter{ResponseWriter: httptest.NewRecorder()}
	big.WriteHeader(200)
	big.Write(make([]byte, maxSharedAnswer+1))
	if big.answer() != nil {
		t.Error("an answer over maxSharedAnswer is shared")
	}
}
