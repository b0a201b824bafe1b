package restlinktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"unicode/utf8"
)

// Event is a kind of webhook; each goes to its own URL.
type Event string

// The webhook events restlink sends.
const (
	// EventDelivery carries a delivery report (DLR).
	EventDelivery Event = "delivery"
	// EventClick is a recipient clicking a shortened link.
	EventClick Event = "click"
	// EventImpression is the gateway accepting a message.
	EventImpression Event = "impression"
	// EventConversion is a postback recorded for a message.
	EventConversion Event = "conversion"
)

// WebhookSettings are a workspace's webhook settings. Empty URLs disable
// their event.
type WebhookSettings struct {
	DeliveryURL   string
	ClickURL      string
	ImpressionURL string
	ConversionURL string
	// SigningSecret, when set, signs every webhook: X-Webhook-Timestamp
	// and X-Webhook-Signature. restlink never shows it back.
	SigningSecret string
	// DeliveryFields are the fields a delivery webhook carries. Empty: the
	// defaults (message_id, recipient, sender_id, status, status_code,
	// num_parts, cost, timestamp); add "workspace_id" or
	// "telecom_message_id" to have them.
	DeliveryFields []string
	// The field lists of the other events. restlink does not document
	// their fields; the fake stores the lists and does not apply them.
	ClickFields      []string
	ImpressionFields []string
	ConversionFields []string
	UniqueClicksOnly bool
}

// String describes the settings without the signing secret.
func (s WebhookSettings) String() string {
	return fmt.Sprintf("{delivery %q click %q impression %q conversion %q signing secret set: %t delivery fields %q}",
		s.DeliveryURL, s.ClickURL, s.ImpressionURL, s.ConversionURL, s.SigningSecret != "", s.DeliveryFields)
}

// GoString is String, so that %#v does not print the secret either.
func (s WebhookSettings) GoString() string { return s.String() }

// clone copies the settings' lists.
func (s WebhookSettings) clone() WebhookSettings {
	s.DeliveryFields = slices.Clone(s.DeliveryFields)
	s.ClickFields = slices.Clone(s.ClickFields)
	s.ImpressionFields = slices.Clone(s.ImpressionFields)
	s.ConversionFields = slices.Clone(s.ConversionFields)
	return s
}

// url is the URL an event goes to; empty if disabled or unknown.
func (s WebhookSettings) url(e Event) string {
	switch e {
	case EventDelivery:
		return s.DeliveryURL
	case EventClick:
		return s.ClickURL
	case EventImpression:
		return s.ImpressionURL
	case EventConversion:
		return s.ConversionURL
	}
	return ""
}

// defaultDeliveryFields are the fields of a delivery webhook unless the
// workspace chose others.
func defaultDeliveryFields() []string {
	return []string{"message_id", "recipient", "sender_id", "status", "status_code", "num_parts", "cost", "timestamp"}
}

// deliveryFields are the fields a delivery webhook carries.
func (s WebhookSettings) deliveryFields() []string {
	if len(s.DeliveryFields) == 0 {
		return defaultDeliveryFields()
	}
	return s.DeliveryFields
}

// isDeliveryField reports the fields a delivery webhook can carry.
func isDeliveryField(name string) bool {
	return slices.Contains(defaultDeliveryFields(), name) || name == "workspace_id" || name == "telecom_message_id"
}

// SetWebhooks replaces a workspace's webhook settings, without the URL
// checks PUT /user/webhooks makes: tests may point webhooks at plain-HTTP
// receivers.
func (f *Fake) SetWebhooks(workspaceID int64, s WebhookSettings) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.workspaceFor(workspaceID).webhooks = s.clone()
}

// Webhooks returns a workspace's webhook settings, secret included.
func (f *Fake) Webhooks(workspaceID int64) WebhookSettings {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.workspaceFor(workspaceID).webhooks.clone()
}

// workspaceFor returns a workspace, created empty in the default account
// if unknown. f.mu is held.
func (f *Fake) workspaceFor(id int64) *workspace {
	if ws := f.workspaces[id]; ws != nil {
		return ws
	}
	f.addWorkspace(Workspace{ID: id})
	return f.workspaces[id]
}

// WebhookSettingsResponse is the answer of GET and PUT /user/webhooks.
// The secret is never returned, only whether one is set.
type WebhookSettingsResponse struct {
	Status           bool     `json:"status"`
	DeliveryURL      string   `json:"delivery_url"`
	ClickURL         string   `json:"click_url"`
	ImpressionURL    string   `json:"impression_url"`
	ConversionURL    string   `json:"conversion_url"`
	DeliveryFields   []string `json:"delivery_fields"`
	ClickFields      []string `json:"click_fields"`
	ImpressionFields []string `json:"impression_fields"`
	ConversionFields []string `json:"conversion_fields"`
	UniqueClicksOnly bool     `json:"unique_clicks_only"`
	SigningSecretSet bool     `json:"signing_secret_set"`
}

// settingsResponse shows s as the API does.
func settingsResponse(s WebhookSettings) response {
	list := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return slices.Clone(l)
	}
	return okResponse(WebhookSettingsResponse{
		Status: true, DeliveryURL: s.DeliveryURL, ClickURL: s.ClickURL, ImpressionURL: s.ImpressionURL,
		ConversionURL: s.ConversionURL, DeliveryFields: list(s.deliveryFields()), ClickFields: list(s.ClickFields),
		ImpressionFields: list(s.ImpressionFields), ConversionFields: list(s.ConversionFields),
		UniqueClicksOnly: s.UniqueClicksOnly, SigningSecretSet: s.SigningSecret != "",
	})
}

// getWebhooks serves GET /user/webhooks.
func (f *Fake) getWebhooks(c *call) response {
	f.mu.Lock()
	defer f.mu.Unlock()
	return settingsResponse(f.workspaces[c.ws].webhooks)
}

// maxSecretLength is the longest signing secret restlink takes, in
// characters.
const maxSecretLength = 64

// putWebhooks serves PUT /user/webhooks: a partial update, where only the
// fields sent change. Everything is checked before anything changes, in
// this order: the body, conflicting secret fields, URLs, the secret, the
// field lists, the toggles.
func (f *Fake) putWebhooks(c *call) response {
	var body map[string]json.RawMessage
	if !isJSONObject(c.body) || json.Unmarshal(c.body, &body) != nil {
		return errorResponse(http.StatusBadRequest, codeInvalidBody, "the body must be a JSON object")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ws := f.workspaces[c.ws]
	next := ws.webhooks.clone()

	secret, hasSecret := body["signing_secret"]
	hasSecret = hasSecret && string(secret) != "null"
	var clear bool
	if raw, ok := body["clear_signing_secret"]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &clear) != nil {
			return errorResponse(http.StatusBadRequest, codeInvalidToggle, "clear_signing_secret must be a boolean")
		}
	}
	if hasSecret && clear {
		return errorResponse(http.StatusBadRequest, codeConflictingFields, "send signing_secret or clear_signing_secret: true, not both")
	}
	for _, u := range []struct {
		name string
		dst  *string
	}{
		{"delivery_url", &next.DeliveryURL}, {"click_url", &next.ClickURL},
		{"impression_url", &next.ImpressionURL}, {"conversion_url", &next.ConversionURL},
	} {
		raw, ok := body[u.name]
		if !ok {
			continue
		}
		var s *string
		if json.Unmarshal(raw, &s) != nil || (s != nil && *s != "" && !validWebhookURL(*s)) {
			return errorResponse(http.StatusBadRequest, codeInvalidURL, u.name+" must be an https URL to a public host, or empty to disable it")
		}
		*u.dst = ""
		if s != nil {
			*u.dst = *s
		}
	}
	if hasSecret {
		var s string
		if json.Unmarshal(secret, &s) != nil || s == "" || utf8.RuneCountInString(s) > maxSecretLength {
			return errorResponse(http.StatusBadRequest, codeInvalidSecret, "signing_secret must be a string of 1 to 64 characters")
		}
		next.SigningSecret = s
	}
	if clear {
		next.SigningSecret = ""
	}
	for _, l := range []struct {
		name  string
		dst   *[]string
		known func(string) bool
	}{
		{"delivery_fields", &next.DeliveryFields, isDeliveryField},
		{"click_fields", &next.ClickFields, nil}, {"impression_fields", &next.ImpressionFields, nil},
		{"conversion_fields", &next.ConversionFields, nil},
	} {
		raw, ok := body[l.name]
		if !ok {
			continue
		}
		var names []string
		if json.Unmarshal(raw, &names) != nil || len(names) == 0 || slices.ContainsFunc(names, func(n string) bool {
			return n == "" || (l.known != nil && !l.known(n))
		}) {
			return errorResponse(http.StatusBadRequest, codeInvalidFields, l.name+" must be a non-empty list of known field names")
		}
		*l.dst = names
	}
	if raw, ok := body["unique_clicks_only"]; ok {
		if json.Unmarshal(raw, &next.UniqueClicksOnly) != nil || string(raw) == "null" {
			return errorResponse(http.StatusBadRequest, codeInvalidToggle, "unique_clicks_only must be a boolean")
		}
	}
	ws.webhooks = next
	return settingsResponse(next)
}

// validWebhookURL stands for restlink's SSRF check: an absolute https URL
// without credentials, whose host is a name or a public address. Unlike
// restlink's, it lets loopback through, where tests run their receivers.
func validWebhookURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || len(s) > 2048 {
		return false
	}
	addr, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return true // a name
	}
	addr = addr.Unmap()
	return addr.IsLoopback() || addr.IsGlobalUnicast() && !addr.IsPrivate()
}
