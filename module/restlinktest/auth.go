package restlinktest

import (
	"net/http"
	"net/netip"
	"strings"
)

// authenticate checks a request's credentials in restlink's order: a key
// at all, a known key, enabled, unexpired, from an allowed address, then
// its signature if the key requires one. It returns the call to serve, or
// the refusal.
func (f *Fake) authenticate(r *http.Request, body []byte) (*call, *response) {
	value := r.Header.Get("X-API-Key")
	if value == "" {
		if hasBearer(r) {
			// The fake issues no JWTs, so none it is shown is valid.
			return nil, refusal(http.StatusUnauthorized, codeInvalidToken, "the bearer token is not valid")
		}
		return nil, refusal(http.StatusUnauthorized, codeUnauthorized, "credentials are missing: send the X-API-Key header")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	k := f.keys[value]
	switch {
	case k == nil:
		return nil, refusal(http.StatusUnauthorized, codeInvalidAPIKey, "the API key is not valid")
	case k.Disabled:
		return nil, refusal(http.StatusUnauthorized, codeKeyInactive, "the API key is disabled")
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return nil, refusal(http.StatusUnauthorized, codeKeyExpired, "the API key has expired")
	case !k.allowsIP(clientAddr(r)):
		return nil, refusal(http.StatusUnauthorized, codeIPNotAllowed, "the client IP is not in the key's allowed list")
	}
	if k.Secret != "" {
		if refused := f.verifySignature(r, body, k.Secret, now); refused != nil {
			return nil, refused
		}
	}
	key := *k
	ws := f.workspaces[k.workspaceID]
	return &call{r: r, body: body, now: now, key: &key, ws: ws.id, account: ws.account}, nil
}

// refusal is an error answer, by pointer for the "refused or not" returns.
func refusal(status int, code, description string) *response {
	resp := errorResponse(status, code, description)
	return &resp
}

// hasBearer reports whether the request carries a JWT.
func hasBearer(r *http.Request) bool {
	scheme, _, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer")
}

// clientAddr is the address the request came from; the invalid address
// (which no allow list contains) if it cannot be told.
func clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
