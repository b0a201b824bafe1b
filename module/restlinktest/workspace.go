package restlinktest

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Workspace is a workspace the fake knows, with the API keys bound to it.
type Workspace struct {
	ID   int64
	Name string
	Main bool
	// AccountID is the portal account that owns the workspace: its
	// balance and rate limit are the account's, shared with the account's
	// other workspaces. 0 means DefaultAccountID.
	AccountID int64
	// Keys are plain API keys: every permission, no signing, no expiry,
	// any client IP. A key starting with "sk_test_" is a sandbox key.
	Keys []string
	// APIKeys are keys with the options restlink offers at key creation.
	APIKeys []Key
	// Webhooks are the workspace's webhook settings.
	Webhooks WebhookSettings
}

// Key is an API key with the options a portal user picks when creating
// one. Its zero options make a plain key.
type Key struct {
	// Value is the key as clients send it in X-API-Key. A key starting
	// with "sk_test_" is a sandbox key: its sends are free, skip the
	// blocked-country list and answer "sandbox": true.
	Value string
	// Secret, when set, requires HMAC signing of every request made with
	// the key (restlink's api_secret).
	Secret string
	// Permissions granted to the key: "sms.send", "sms.read",
	// "balance.read", "pricing.read", "payments.read", "webhooks.read",
	// "webhooks.write", or "*" for all. Everything else answers 403
	// FORBIDDEN. Nil or empty means "*"; to grant nothing, name a
	// permission no endpoint needs, such as "none".
	Permissions []string
	// Disabled keys answer 401 API_KEY_INACTIVE.
	Disabled bool
	// ExpiresAt, when set, is when the key expires: from then on (by the
	// fake's clock) it answers 401 API_KEY_EXPIRED.
	ExpiresAt time.Time
	// AllowedIPs, when set, are the only client addresses the key may be
	// used from: IP addresses ("127.0.0.1", "::1") or prefixes
	// ("10.0.0.0/8"). Others answer 401 IP_NOT_ALLOWED.
	AllowedIPs []string
}

// String describes the key without its secret and with only the start of
// its value, so that test failures do not print credentials.
func (k Key) String() string {
	shown := k.Value
	if len(shown) > 8 {
		shown = shown[:8] + "…"
	}
	return fmt.Sprintf("{key %s signed: %t permissions: %q disabled: %t expires: %v allowed IPs: %q}",
		shown, k.Secret != "", k.Permissions, k.Disabled, k.ExpiresAt, k.AllowedIPs)
}

// GoString is String, so that %#v does not print the secret either.
func (k Key) GoString() string { return k.String() }

// apiKey is a key as the fake holds it.
type apiKey struct {
	Key
	workspaceID int64
	allowed     []netip.Prefix
}

// sandbox reports whether the key is a test-mode key.
func (k *apiKey) sandbox() bool {
	return strings.HasPrefix(k.Value, "sk_test_")
}

// allows reports whether the key grants permission.
func (k *apiKey) allows(permission string) bool {
	if len(k.Permissions) == 0 {
		return true
	}
	return slices.Contains(k.Permissions, "*") || slices.Contains(k.Permissions, permission)
}

// allowsIP reports whether the key may be used from addr.
func (k *apiKey) allowsIP(addr netip.Addr) bool {
	if len(k.allowed) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, p := range k.allowed {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// workspace is a workspace as the fake holds it.
type workspace struct {
	id       int64
	name     string
	main     bool
	account  int64
	live     messageRing
	sandbox  messageRing
	webhooks WebhookSettings
	prices   []price // nil: no price table
}

// Message history kept per workspace: restlink's sandbox keeps the last
// 500; the live limit only bounds the fake's memory in load tests.
const (
	liveHistory    = 10_000
	sandboxHistory = 500
)

// account is a portal account: a balance and a rate-limit window.
type account struct {
	balance  micros
	updated  time.Time
	window   int64 // the Unix second being counted
	inWindow int
}

// addWorkspace adds or replaces ws. f.mu is held, or f is being built.
func (f *Fake) addWorkspace(ws Workspace) {
	acct := ws.AccountID
	if acct == 0 {
		acct = DefaultAccountID
	}
	f.workspaces[ws.ID] = &workspace{
		id: ws.ID, name: ws.Name, main: ws.Main, account: acct,
		live:     messageRing{size: liveHistory},
		sandbox:  messageRing{size: sandboxHistory},
		webhooks: ws.Webhooks.clone(),
	}
	f.ensureAccount(acct)
	for _, k := range ws.Keys {
		f.putKey(ws.ID, Key{Value: k})
	}
	for _, k := range ws.APIKeys {
		f.putKey(ws.ID, k)
	}
}

// ensureAccount creates account id with the default balance if it is new.
// f.mu is held, or f is being built.
func (f *Fake) ensureAccount(id int64) *account {
	a := f.accounts[id]
	if a == nil {
		a = &account{balance: defaultBalance, updated: f.now()}
		f.accounts[id] = a
	}
	return a
}

// putKey binds k to a workspace, replacing any key of the same value.
// It panics on an AllowedIPs entry that is neither an address nor a
// prefix, as httptest panics on a setup it cannot honour. f.mu is held,
// or f is being built.
func (f *Fake) putKey(workspaceID int64, k Key) {
	stored := &apiKey{Key: k, workspaceID: workspaceID}
	stored.Permissions = slices.Clone(k.Permissions)
	stored.AllowedIPs = slices.Clone(k.AllowedIPs)
	for _, s := range k.AllowedIPs {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				panic("restlinktest: parsing allowed IP " + s + ": not an address or a prefix")
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		stored.allowed = append(stored.allowed, p.Masked())
	}
	f.keys[k.Value] = stored
	if f.workspaces[workspaceID] == nil {
		// A key may be bound to a workspace New was not given: it gets
		// an empty one in the default account.
		f.workspaces[workspaceID] = &workspace{
			id: workspaceID, account: DefaultAccountID,
			live: messageRing{size: liveHistory}, sandbox: messageRing{size: sandboxHistory},
		}
		f.ensureAccount(DefaultAccountID)
	}
}

// AddKey binds a plain key to a workspace, as when a key is created
// during rotation. It replaces a key of the same value, so a revoked or
// expired key is usable again.
func (f *Fake) AddKey(key string, workspaceID int64) {
	f.AddAPIKey(workspaceID, Key{Value: key})
}

// AddAPIKey binds k, with its options, to a workspace; it replaces a key
// of the same value. It panics on an AllowedIPs entry that is neither an
// IP address nor a prefix.
func (f *Fake) AddAPIKey(workspaceID int64, k Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putKey(workspaceID, k)
}

// RevokeKey disables a key: from now on it answers 401 API_KEY_INACTIVE.
// Unknown keys are ignored.
func (f *Fake) RevokeKey(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := f.keys[key]; k != nil {
		k.Disabled = true
	}
}

// ExpireKey makes a key expire now: from now on it answers 401
// API_KEY_EXPIRED. Unknown keys are ignored.
func (f *Fake) ExpireKey(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := f.keys[key]; k != nil {
		k.ExpiresAt = f.now()
	}
}

// defaultBalance is DefaultBalance read.
var defaultBalance = mustMicros("DefaultBalance", DefaultBalance)

// SetBalance sets an account's balance (DefaultAccountID for workspaces
// without an AccountID) to an exact decimal amount of at most 6 places,
// such as "10" or "0.0169"; it panics on other text. At 0 or below, sends
// answer 402 INSUFFICIENT_BALANCE and the balance endpoint says
// credit_blocked.
func (f *Fake) SetBalance(accountID int64, amount string) {
	balance := mustMicros("SetBalance amount", amount)
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.ensureAccount(accountID)
	a.balance = balance
	a.updated = f.now()
}

// Balance returns an account's balance, what accepted live sends (and
// refunds of undelivered messages) left of it, as the exact decimal the
// balance endpoint writes ("999999.9915", "0").
func (f *Fake) Balance(accountID int64) string {
	return micros(f.BalanceMicros(accountID)).String()
}

// BalanceMicros returns an account's balance in micro-units (millionths
// of the currency): 999_999_991_500 is 999999.9915.
func (f *Fake) BalanceMicros(accountID int64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(f.ensureAccount(accountID).balance)
}
