package restlink

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestErrorCodesMatchTheREADME: the README's error table lists exactly the
// codes the sidecar answers with, each with its status.
func TestErrorCodesMatchTheREADME(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[ErrorCode]int{}
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		status, err := strconv.Atoi(strings.TrimSpace(cells[1]))
		if err != nil {
			continue
		}
		documented[ErrorCode(strings.Trim(strings.TrimSpace(cells[2]), "`"))] = status
	}
	for _, c := range ErrorCodes {
		status, ok := documented[c]
		switch {
		case !ok:
			t.Errorf("%s is not in the README's error table", c)
		case status != c.Status():
			t.Errorf("%s: the README says %d, the code answers %d", c, status, c.Status())
		}
		delete(documented, c)
	}
	for c := range documented {
		t.Errorf("the README's error table lists %s, which the sidecar never answers with", c)
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

// TestErrorBodyIsEncodingJSON checks the hand-appended error body against
// encoding/json, for every error code and descriptions that need escapes.
func TestErrorBodyIsEncodingJSON(t *testing.T) {
	descriptions := []string{"", "plain", `quoted "host"`, "<a&b>", "tab\tand\nnewline", "é\u2028", "\xff"}
	for _, code := range ErrorCodes {
		for _, d := range descriptions {
			rj := reject(code, d)
			want, err := json.Marshal(errorBody{ErrorCode: code, Description: d})
			if err != nil {
				t.Fatal(err)
			}
			if got := string(appendErrorBody(nil, rj)); got != string(want)+"\n" {
				t.Errorf("%s %q: %s, want %s", code, d, got, want)
			}
		}
	}
	budget := reject(CodeBudgetExceeded, "over")
	budget.budget = &budgetRefusal{Currency: "EUR", Period: "month"}
	want, _ := json.Marshal(errorBody{ErrorCode: CodeBudgetExceeded, Description: "over", budgetRefusal: budget.budget})
	if got := string(appendErrorBody(nil, budget)); got != string(want)+"\n" {
		t.Errorf("budget refusal: %s, want %s", got, want)
	}
}
