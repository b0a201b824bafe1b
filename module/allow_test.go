package restlink

import "testing"

func TestAllowList(t *testing.T) {
	a, err := parseAllowList([]string{"POST /api/v1/sms/send", "GET /api/v1/sms/*", "* /api/v1/ping", "DELETE /api/v1/x*"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		method, path string
		want         bool
	}{
		{"POST", "/api/v1/sms/send", true},
		{"GET", "/api/v1/sms/send", true},
		{"GET", "/api/v1/sms/msg_1", true},
		{"GET", "/api/v1/sms/a/b", true},
		{"GET", "/api/v1/sms", false},
		{"PUT", "/api/v1/sms/send", false},
		{"POST", "/api/v1/sms/send/", false},
		{"POST", "/api/v1/sms/sendx", false},
		{"GET", "/api/v1/user/workspaces", false},
		{"PATCH", "/api/v1/ping", true},
		{"DELETE", "/api/v1/xyz", true},
		{"DELETE", "/api/v1/y", false},
	} {
		if got := a.allows(tc.method, tc.path); got != tc.want {
			t.Errorf("allows(%s %s) = %v", tc.method, tc.path, got)
		}
	}
	var none *allowList
	if !none.allows("DELETE", "/anything") {
		t.Error("an absent allow list must allow everything")
	}
}
