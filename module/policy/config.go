package policy

import "time"

// Config is the policy section of the sidecar's config file: the rules
// that every SMS send must pass before it leaves the host. Without a
// default and without tenant entries there is no policy, and sends pass
// unchecked.
//
//	policy:
//	  default:
//	    countries: [GB, IE]
//	    deny_prefixes: ["+882", "+883"]
//	    rate: {recipients: 600, per: 1m}
//	    daily_segments: 50000
//	    senders: [MyApp, "+447700900123"]
//	    links: {allow: [example.com, "*.example.org"]}
//	  tenants:
//	    acme: {countries: [GB], daily_segments: 2000}
//	    staging-app: {dry_run: true}
type Config struct {
	// The path whose POST requests are sends, as forwarded upstream
	// (after any tenant prefix is removed). It must start with /api/v1/.
	// Default: /api/v1/sms/send.
	SendPath string `yaml:"send_path"`

	// Rules for every tenant without its own entry in tenants, and the
	// base that tenant entries inherit from. Absent: tenants without an
	// entry have no policy.
	Default *RulesConfig `yaml:"default"`

	// Tenant name -> rules of that tenant. Each name must be a tenant the
	// config defines. An entry inherits every field of default it does
	// not set itself; without a default, it inherits nothing.
	Tenants map[string]RulesConfig `yaml:"tenants"`
}

// RulesConfig is the send policy of a tenant, or the default. Every field
// is optional: an absent field is inherited from default (in a tenant
// entry), or else is no rule at all.
type RulesConfig struct {
	// enforce: refused sends are answered with an error and not sent.
	// shadow: every send is decided, counted and reported, but sent
	// anyway; use it to try rules out on live traffic. Default: enforce.
	Mode string `yaml:"mode"`

	// Destination regions allowed, as ISO 3166-1 alpha-2 codes in upper
	// case (GB, IE, US). A number is placed by the numbering plan, not by
	// its calling code alone: +1 809 is DO, not US, and +44 7781 is GG,
	// not GB. Numbers the plan cannot place in a country (international
	// networks such as +882, numbers that fit no region of their code) are
	// refused when this list is set. An empty list allows no destination:
	// every send is refused. Absent: every destination is allowed.
	Countries []string `yaml:"countries"`

	// E.164 prefixes ("+" and 1 to 15 digits) refused whatever their
	// country, e.g. premium or satellite ranges. An empty list denies
	// nothing, and so lifts an inherited list. Absent: none.
	DenyPrefixes []string `yaml:"deny_prefixes"`

	// Most recipients one send may have, 1 to 100. restlink itself
	// refuses more than 100. Absent: 100.
	MaxRecipients *int `yaml:"max_recipients"`

	// Most recipients the tenant may send to within a sliding window.
	// A send counts once per entry of its "to" list. Absent: no limit.
	Rate *RateConfig `yaml:"rate"`

	// Most SMS segments the tenant may send per UTC day, counting each
	// recipient's segments (a 2-segment message to 3 numbers counts 6).
	// At least 1. Absent: no cap.
	DailySegments *int64 `yaml:"daily_segments"`

	// Most messages the tenant may send to any one number within a
	// sliding window, against floods of a single recipient (a form
	// abused to pump SMS to one number). Absent: no limit.
	PerRecipient *PerRecipientConfig `yaml:"per_recipient"`

	// The sender_id values the tenant may send with. An alphanumeric
	// sender is compared exactly, letter case included; a numeric one
	// ("+" and 8 to 15 digits, quoted in YAML) by the numbering plan's
	// E.164 form of its number, so that +44 07700 900123 written with its
	// trunk 0 is +44 7700 900123. A tenant entry that sets it replaces the
	// inherited list whole. An empty list allows no sender: every send is
	// refused. Absent: any sender.
	Senders []string `yaml:"senders"`

	// The domains that links in the message may lead to. Anything a phone
	// would render as a link counts, with or without a scheme. A tenant
	// entry that sets it replaces the inherited one whole. Absent: links
	// to any domain.
	Links *LinksConfig `yaml:"links"`

	// Spend limits in the account's currency. A tenant entry that sets
	// it replaces the inherited one whole. Absent: no budget.
	Budget *BudgetConfig `yaml:"budget"`

	// Fraud signals: the tenant's traffic to each destination country is
	// watched, and the country quarantined when a signal fires. It needs
	// ledger.dir: delivery reports are attributed to tenants through the
	// ledger. A tenant entry that sets it replaces the inherited one
	// whole. Absent: no signals.
	Anomaly *AnomalyConfig `yaml:"anomaly"`

	// Numbers a quarantine never refuses. A tenant entry that sets it
	// replaces the inherited one whole. Absent: none.
	TrustedNumbers *TrustedNumbersConfig `yaml:"trusted_numbers"`

	// Answer sends locally with a success response in restlink's shape
	// (marked "sandbox": true, with message ids starting dryrun_) and send
	// nothing. The other rules still apply, but their limits are not
	// charged. Default: false.
	DryRun *bool `yaml:"dry_run"`
}

// RateConfig is a sliding-window limit on recipients. A tenant entry that
// sets it replaces the inherited one whole: both fields are required.
type RateConfig struct {
	// Recipients allowed within the window, at least 1.
	Recipients int64 `yaml:"recipients"`

	// The window's length, at least 1s, e.g. 1m. Changing it starts a
	// new count.
	Per time.Duration `yaml:"per"`
}

// PerRecipientConfig is a sliding-window limit on messages to any one
// number. A tenant entry that sets it replaces the inherited one whole:
// both fields are required.
type PerRecipientConfig struct {
	// Messages allowed to one number within the window, at least 1.
	Messages int64 `yaml:"messages"`

	// The window's length, at least 1s, e.g. 1h. Changing it starts a
	// new count.
	Per time.Duration `yaml:"per"`
}

// BudgetConfig limits what a tenant may spend, in the account's currency
// (ledger.currency): each send's estimate is reserved against every
// budget before it is forwarded, and a send that would go over one is
// refused with 402 BUDGET_EXCEEDED. Amounts are numbers or strings with
// at most 6 decimal places (50, 50.00, "0.25"). Budget days and months
// begin in ledger.timezone.
type BudgetConfig struct {
	// Most the tenant may spend per day. Absent: no daily budget.
	Daily any `yaml:"daily"`

	// Most the tenant may spend per calendar month. Absent: no monthly
	// budget.
	Monthly any `yaml:"monthly"`

	// Fraction of a budget, above 0 and below 1, at which a budget_soft
	// alert is raised, once per period. Default: 0.8.
	SoftAt *float64 `yaml:"soft_at"`
}

// LinksConfig is the link policy: every link in a message must lead to an
// allowed domain, or the send is refused with 403 LINK_NOT_ALLOWED. Hosts
// are compared as lower-case punycode, whatever case or script the
// message and the config write them in; a link to an IP address is never
// allowed.
type LinksConfig struct {
	// Domains allowed: example.com allows that host only (with any port,
	// path or query); "*.example.org" allows every subdomain of
	// example.org, but not example.org itself (list both for both). An
	// internationalized name may be written in Unicode or punycode. An
	// empty list allows no link at all. Required.
	Allow []string `yaml:"allow"`
}

// AnomalyConfig is the fraud signals of a tenant, evaluated per
// destination country (see the signals package): a signal that fires
// quarantines the tenant's sends to that country for quarantine_for. A
// quarantine refuses sends with 403 DESTINATION_QUARANTINED only when
// both this mode and the tenant's mode are enforce; otherwise it is
// logged, counted and alerted, and sends go through.
type AnomalyConfig struct {
	// enforce or shadow. Default: shadow: start there, read the alerts,
	// then enforce.
	Mode string `yaml:"mode"`

	// The sliding window of the delivery ratio, and the length of a
	// volume window; at least 1s. Default: 1h.
	Window time.Duration `yaml:"window"`

	// The delivery ratio (DELIVRD against every final report in the
	// window) below which the signal fires, above 0 and below 1; 0 turns
	// the signal off. Default: 0.3.
	DeliveryRatioBelow *float64 `yaml:"delivery_ratio_below"`

	// Final reports needed in the window before the delivery ratio is
	// evaluated, at least 1. Default: 50.
	MinReports *int64 `yaml:"min_reports"`

	// The volume signal. Absent: on, with its defaults.
	Volume *VolumeConfig `yaml:"volume"`

	// How long a quarantine lasts, at least 1s. Default: 1h.
	QuarantineFor time.Duration `yaml:"quarantine_for"`
}

// VolumeConfig is the volume signal: recipients per window against the
// tenant × country's own baseline.
type VolumeConfig struct {
	// It fires above mean + sigma × max(σ, √mean) of the baseline's
	// windows; 0 turns the signal off. Default: 6.
	Sigma *float64 `yaml:"sigma"`

	// ...and only for a window of at least this many recipients, at
	// least 1. Default: 100.
	MinSends *int64 `yaml:"min_sends"`

	// The complete windows within it are the baseline: a whole number
	// of windows, from 3 to 168. Default: as many whole windows as fit
	// in 7d, from 3 to 168 (7d with the 1h window).
	Baseline time.Duration `yaml:"baseline"`
}

// TrustedNumbersConfig names the file of trusted numbers: E.164 numbers,
// one a line (blank lines and lines starting with # are skipped). The
// file is watched like key files; its numbers are kept only as salted
// hashes in memory.
type TrustedNumbersConfig struct {
	// The file's path. Required.
	File string `yaml:"file"`
}
