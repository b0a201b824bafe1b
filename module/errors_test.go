package restlink

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestErrorCodeStatuses(t *testing.T) {
	want := map[ErrorCode]int{
		CodeInvalidWorkspaceHeader: 400, CodeCrossTenantWorkspace: 403, CodeNoMainWorkspace: 403,
		CodeTenantRequired: 400, CodeUnknownTenant: 403, CodeConflictingTenant: 400, CodeInvalidPath: 400,
		CodeRouteNotAllowed: 403, CodeClientNotTrusted: 403, CodeBrowserRequestRejected: 403,
		CodeMisdirectedHost: 421, CodeBodyTooLarge: 413, CodeCircuitOpen: 503, CodeNoUsableKey: 503,
		CodeUpstreamUnavailable: 502, CodeUpstreamTimeout: 504,
	}
	if len(ErrorCodes) != len(want) {
		t.Fatalf("ErrorCodes has %d codes, the README error table has %d", len(ErrorCodes), len(want))
	}
	for _, c := range ErrorCodes {
		if c.Status() != want[c] {
			t.Errorf("%s: status %d, want %d", c, c.Status(), want[c])
		}
	}
}

func TestWriteRejection(t *testing.T) {
	w := httptest.NewRecorder()
	rj := reject(CodeCircuitOpen, `breaker "open"`)
	rj.retryAfter = 7
	writeRejection(w, rj)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Content-Type") != "application/json" ||
		w.Header().Get(ErrorHeader) != "CIRCUIT_OPEN" || w.Header().Get("Retry-After") != "7" {
		t.Errorf("status %d headers %v", w.Code, w.Header())
	}
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.ErrorCode != CodeCircuitOpen || body.Description != `breaker "open"` {
		t.Errorf("body %q: %v", w.Body, err)
	}
	if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(w.Body.Len()) {
		t.Errorf("Content-Length %s, body %d bytes", cl, w.Body.Len())
	}
}
