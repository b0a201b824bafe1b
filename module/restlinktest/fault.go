package restlinktest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Fault makes the fake misbehave for the requests it matches. Matching
// requests are recorded like any other. Exactly one action is applied, in
// the order of the fields below; a Delay may precede any of them.
type Fault struct {
	// Which requests: a workspace (0: any) and a path (empty: any).
	WorkspaceID int64
	Path        string
	// How many matching requests it applies to; 0: all until removed.
	Times int

	// Delay waits before acting (or before answering normally), unless the
	// client goes away first.
	Delay time.Duration
	// CloseAfterRead reads the whole request, then closes the connection
	// without answering: the sender cannot know whether it was acted on.
	CloseAfterRead bool
	// ResetAfterHeaders sends a response's headers and part of its body,
	// then resets the connection.
	ResetAfterHeaders bool
	// RedirectTo answers 302 with this Location.
	RedirectTo string
	// Status answers with this status and an error body with ErrorCode
	// ("FAULT_INJECTED" if empty).
	Status    int
	ErrorCode string

	used int
}

// Inject adds a fault; the returned function removes it.
func (f *Fake) Inject(fault Fault) (remove func()) {
	p := &fault
	f.mu.Lock()
	f.faults = append(f.faults, p)
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, q := range f.faults {
			if q == p {
				f.faults = append(f.faults[:i], f.faults[i+1:]...)
				return
			}
		}
	}
}

// matchFault finds the first fault for the request and uses it up once.
// f.mu is held.
func (f *Fake) matchFault(path string, wsID int64) *Fault {
	for i, fault := range f.faults {
		if (fault.WorkspaceID != 0 && fault.WorkspaceID != wsID) || (fault.Path != "" && fault.Path != path) {
			continue
		}
		fault.used++
		if fault.Times > 0 && fault.used >= fault.Times {
			f.faults = append(f.faults[:i], f.faults[i+1:]...)
		}
		return fault
	}
	return nil
}

// apply acts out the fault. It reports whether it answered (or dropped)
// the request; false means: answer normally.
func (fault *Fault) apply(w http.ResponseWriter, r *http.Request) bool {
	if fault.Delay > 0 {
		select {
		case <-time.After(fault.Delay):
		case <-r.Context().Done():
			return true
		}
	}
	switch {
	case fault.CloseAfterRead:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	case fault.ResetAfterHeaders:
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return true
		}
		writePartialResponse(buf)
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0) // close with RST
		}
		_ = conn.Close()
	case fault.RedirectTo != "":
		http.Redirect(w, r, fault.RedirectTo, http.StatusFound)
	case fault.Status != 0:
		code := fault.ErrorCode
		if code == "" {
			code = "FAULT_INJECTED"
		}
		writeError(w, fault.Status, code, "fault injected by restlinktest")
	default:
		return false
	}
	return true
}

func writePartialResponse(buf *bufio.ReadWriter) {
	fmt.Fprint(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"message_id\":")
	_ = buf.Flush()
}

// readAll reads a request body whole.
func readAll(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(r.Body)
}
