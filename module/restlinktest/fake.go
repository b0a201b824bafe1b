// Package restlinktest provides a fake 23 Telecom restlink API for tests,
// the demo and benchmarks, in the manner of net/http/httptest: API keys
// bound to workspaces, POST /api/v1/sms/send with body validation,
// GET /api/v1/sms/{id}, GET /api/v1/user/workspaces refused to API-key
// requests as upstream does, error bodies with error_code, a record of every
// request received, and fault injection (statuses, delays, connections
// closed or reset, redirects, revoked keys).
package restlinktest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Workspace is a workspace the fake knows, with the API keys bound to it.
type Workspace struct {
	ID   int64
	Name string
	Main bool
	Keys []string
}

// Request is a request as the fake received it.
type Request struct {
	Method      string
	Path        string // as on the wire (escaped)
	RawQuery    string
	Host        string
	Header      http.Header
	Body        []byte
	Key         string // the X-API-Key sent
	WorkspaceID int64  // the workspace the key is bound to; 0 if none
	Received    time.Time
}

// Fake is the fake restlink API. It is an http.Handler; NewServer serves it
// on loopback. It is safe for concurrent use.
type Fake struct {
	mu         sync.Mutex
	workspaces map[int64]Workspace
	keys       map[string]int64 // key -> workspace id
	revoked    map[string]bool
	requests   []Request
	faults     []*Fault
	noRecord   bool
	messages   map[string]int64 // message id -> workspace id
	nextID     atomic.Int64
}

// New returns a fake serving the given workspaces.
func New(workspaces ...Workspace) *Fake {
	f := &Fake{
		workspaces: make(map[int64]Workspace),
		keys:       make(map[string]int64),
		revoked:    make(map[string]bool),
		messages:   make(map[string]int64),
	}
	for _, ws := range workspaces {
		f.workspaces[ws.ID] = ws
		for _, k := range ws.Keys {
			f.keys[k] = ws.ID
		}
	}
	return f
}

// AddKey binds another key to a workspace (a key created during rotation).
func (f *Fake) AddKey(key string, workspaceID int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[key] = workspaceID
	delete(f.revoked, key)
}

// RevokeKey makes a key answer 401 API_KEY_REVOKED from now on.
func (f *Fake) RevokeKey(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked[key] = true
}

// SetRecording turns the record of received requests on (the default) or
// off (for load tests, where it would grow without bound).
func (f *Fake) SetRecording(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.noRecord = !on
}

// Requests returns a copy of the requests received so far, in order.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.requests...)
}

// Count returns how many requests were received.
func (f *Fake) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// Reset forgets the requests received and removes every fault.
func (f *Fake) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = nil
	f.faults = nil
}

// ServeHTTP answers like restlink, after recording the request and applying
// any matching fault.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readAll(r)
	if err != nil {
		return // the client went away while sending
	}
	key := r.Header.Get("X-API-Key")
	f.mu.Lock()
	wsID, known := f.keys[key]
	revoked := f.revoked[key]
	if !f.noRecord {
		f.requests = append(f.requests, Request{
			Method: r.Method, Path: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery, Host: r.Host,
			Header: r.Header.Clone(), Body: body, Key: key, WorkspaceID: wsID, Received: time.Now(),
		})
	}
	fault := f.matchFault(r.URL.Path, wsID)
	ws := f.workspaces[wsID]
	f.mu.Unlock()

	if fault != nil && fault.apply(w, r) {
		return
	}
	switch {
	case key == "":
		writeError(w, http.StatusUnauthorized, "MISSING_API_KEY", "the X-API-Key header is required")
	case !known:
		writeError(w, http.StatusUnauthorized, "INVALID_API_KEY", "the API key is not valid")
	case revoked:
		writeError(w, http.StatusUnauthorized, "API_KEY_REVOKED", "the API key was revoked")
	default:
		f.route(w, r, body, ws)
	}
}

var messagePath = regexp.MustCompile(`^/api/v1/sms/([A-Za-z0-9_]+)$`)

// route serves an authenticated request for workspace ws.
func (f *Fake) route(w http.ResponseWriter, r *http.Request, body []byte, ws Workspace) {
	switch {
	case r.URL.Path == "/api/v1/sms/send":
		if r.Method != http.MethodPost {
			writeError(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "use POST")
			return
		}
		f.send(w, body, ws)
	case r.URL.Path == "/api/v1/user/workspaces":
		writeError(w, http.StatusForbidden, "API_KEY_NOT_ALLOWED", "this endpoint requires JWT authentication")
	case messagePath.MatchString(r.URL.Path) && r.Method == http.MethodGet:
		id := messagePath.FindStringSubmatch(r.URL.Path)[1]
		f.mu.Lock()
		owner, ok := f.messages[id]
		f.mu.Unlock()
		if !ok || owner != ws.ID {
			writeError(w, http.StatusNotFound, "MESSAGE_NOT_FOUND", "no such message in this workspace")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"message_id": id, "status": "delivered", "workspace_id": ws.ID})
	default:
		writeError(w, http.StatusNotFound, "NOT_FOUND", "no such endpoint")
	}
}

// SendRequest is the body of POST /api/v1/sms/send.
type SendRequest struct {
	To       []string `json:"to"`
	Message  string   `json:"message"`
	SenderID string   `json:"sender_id,omitempty"`
}

// SendResponse is the answer to a successful send.
type SendResponse struct {
	MessageID   string   `json:"message_id"`
	Status      string   `json:"status"`
	To          []string `json:"to"`
	WorkspaceID int64    `json:"workspace_id"`
	Workspace   string   `json:"workspace"`
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (f *Fake) send(w http.ResponseWriter, body []byte, ws Workspace) {
	var req SendRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_JSON", "the body must be a JSON object with to, message and sender_id")
		return
	}
	if len(req.To) == 0 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "to must list at least one number")
		return
	}
	for _, n := range req.To {
		if !e164.MatchString(n) {
			writeError(w, http.StatusBadRequest, "INVALID_PHONE_NUMBER", "numbers must be in E.164 format, e.g. +14155551234")
			return
		}
	}
	if req.Message == "" || len(req.Message) > 1600 {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "message must have 1 to 1600 characters")
		return
	}
	id := "msg_" + strconv.FormatInt(f.nextID.Add(1), 10)
	f.mu.Lock()
	if !f.noRecord {
		f.messages[id] = ws.ID
	}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, SendResponse{MessageID: id, Status: "queued", To: req.To, WorkspaceID: ws.ID, Workspace: ws.Name})
}

// ErrorBody is restlink's error body.
type ErrorBody struct {
	ErrorCode   string `json:"error_code"`
	Description string `json:"description"`
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, ErrorBody{ErrorCode: code, Description: description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
