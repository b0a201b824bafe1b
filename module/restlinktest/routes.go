package restlinktest

import (
	"net/http"
	"strings"
)

// endpoint is what serves one method and path.
type endpoint struct {
	// permission a key needs; empty for the endpoints restlink serves to
	// JWT (portal) sessions only.
	permission string
	handle     func(*Fake, *call) response
	param      string // the path parameter, such as a message ID
}

// route finds the endpoint for a method and (unescaped) path. Any other
// method or path is not found, as restlink answers 404 NOT_FOUND for both.
func route(method, path string) (endpoint, bool) {
	rest, ok := strings.CutPrefix(path, "/api/v1/")
	if !ok {
		return endpoint{}, false
	}
	get, post, put := method == http.MethodGet, method == http.MethodPost, method == http.MethodPut
	switch {
	case post && rest == "sms/send":
		return endpoint{permission: "sms.send", handle: (*Fake).send}, true
	case get && strings.HasPrefix(rest, "sms/status/"):
		id := strings.TrimPrefix(rest, "sms/status/")
		if id == "" || strings.Contains(id, "/") {
			return endpoint{}, false
		}
		return endpoint{permission: "sms.read", handle: (*Fake).messageStatus, param: id}, true
	case get && rest == "sms/messages":
		return endpoint{permission: "sms.read", handle: (*Fake).listMessages}, true
	case get && rest == "sms/stats":
		return endpoint{permission: "sms.read", handle: (*Fake).stats}, true
	case get && rest == "user/balance":
		return endpoint{permission: "balance.read", handle: (*Fake).balance}, true
	case (get || post) && rest == "user/pricing":
		return endpoint{permission: "pricing.read", handle: (*Fake).pricing}, true
	case get && strings.HasPrefix(rest, "user/pricing/") && !strings.Contains(strings.TrimPrefix(rest, "user/pricing/"), "/"):
		return endpoint{permission: "pricing.read", handle: (*Fake).pricingEntry}, true
	case get && rest == "user/payments":
		return endpoint{permission: "payments.read", handle: (*Fake).payments}, true
	case get && rest == "user/webhooks":
		return endpoint{permission: "webhooks.read", handle: (*Fake).getWebhooks}, true
	case put && rest == "user/webhooks":
		return endpoint{permission: "webhooks.write", handle: (*Fake).putWebhooks}, true
	case get && rest == "user/webhooks/logs":
		return endpoint{permission: "webhooks.read", handle: (*Fake).webhookLogs}, true
	case post && rest == "user/webhooks/test":
		return endpoint{permission: "webhooks.write", handle: (*Fake).testWebhook}, true
	case get && (rest == "user/workspaces" || rest == "user/profile"):
		return endpoint{}, true // JWT only
	}
	return endpoint{}, false
}
