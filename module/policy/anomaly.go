package policy

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/23telecom/restlink-sidecar/module/signals"
)

// Defaults of the anomaly block.
const (
	DefaultAnomalyWindow  = time.Hour
	DefaultRatioBelow     = 0.3
	DefaultMinReports     = 50
	DefaultVolumeSigma    = 6.0
	DefaultVolumeMinSends = 100
	DefaultVolumeBaseline = 7 * 24 * time.Hour
	DefaultQuarantineFor  = time.Hour
)

// Anomaly is a tenant's compiled fraud signals.
type Anomaly struct {
	signals.Thresholds
	// Enforce: anomaly.mode is enforce. A quarantine refuses sends only
	// when the tenant's mode is enforce too (see Rules.QuarantineRefuses).
	Enforce bool
}

// Anomaly returns the tenant's fraud signals; nil: none.
func (r *Rules) Anomaly() *Anomaly { return r.anomaly }

// TrustedNumbers returns the path of the tenant's trusted-numbers file;
// "": none.
func (r *Rules) TrustedNumbers() string { return r.trustedNumbers }

// Watched reports whether any tenant has fraud signals.
func (p *Policy) Watched() bool { return p.anyRules(func(r *Rules) bool { return r.anomaly != nil }) }

// TrustedFiles lists the trusted-numbers files of every tenant, each
// once, sorted.
func (p *Policy) TrustedFiles() []string {
	var files []string
	p.anyRules(func(r *Rules) bool {
		if r.trustedNumbers != "" && !slices.Contains(files, r.trustedNumbers) {
			files = append(files, r.trustedNumbers)
		}
		return false
	})
	slices.Sort(files)
	return files
}

// QuarantineRefuses reports whether a quarantine of the tenant refuses
// its sends: both anomaly.mode and the tenant's mode are enforce.
// Otherwise a send to a quarantined country is logged and counted under
// RuleQuarantine, and sent.
func (r *Rules) QuarantineRefuses() bool { return r.anomaly != nil && r.anomaly.Enforce && !r.shadow }

// QuarantineRefusal is the refusal of a send to a country quarantined
// until until.
func QuarantineRefusal(country, signal string, until, now time.Time) *Refusal {
	place := "country " + country
	if country == signals.NoCountry {
		place = "numbers in no country (ZZ)"
	}
	return &Refusal{Status: http.StatusForbidden, Code: CodeDestinationQuarantined, Rule: RuleQuarantine,
		Description: fmt.Sprintf("sends of this tenant to %s are quarantined until %s: its %s signal fired (see the sidecar's alerts); an operator can lift it with restlink-sidecar quarantine lift",
			place, until.UTC().Format(time.RFC3339), signal),
		RetryAfter: roundRetryAfter(until.Sub(now))}
}

// compileAnomaly checks and compiles an anomaly block.
func compileAnomaly(c AnomalyConfig, field string, p *problems) *Anomaly {
	a := &Anomaly{Thresholds: signals.Thresholds{Window: DefaultAnomalyWindow, RatioBelow: DefaultRatioBelow, MinReports: DefaultMinReports,
		Sigma: DefaultVolumeSigma, MinSends: DefaultVolumeMinSends, Baseline: DefaultVolumeBaseline, QuarantineFor: DefaultQuarantineFor}}
	switch c.Mode {
	case "", "shadow":
	case "enforce":
		a.Enforce = true
	default:
		p.add(field+".mode", "%q is not a mode: use enforce or shadow", c.Mode)
	}
	if c.Window != 0 {
		a.Window = c.Window
	}
	if a.Window < signals.MinWindow || a.Window%time.Millisecond != 0 {
		p.add(field+".window", "%s is too short: at least 1s, in whole milliseconds", formatDuration(a.Window))
		a.Window = DefaultAnomalyWindow
	}
	if c.DeliveryRatioBelow != nil {
		if v := *c.DeliveryRatioBelow; v < 0 || v >= 1 {
			p.add(field+".delivery_ratio_below", "%v is out of range: above 0 and below 1 (0 turns the signal off)", v)
		} else {
			a.RatioBelow = v
		}
	}
	if c.MinReports != nil {
		if v := *c.MinReports; v < 1 {
			p.add(field+".min_reports", "%d is out of range: at least 1", v)
		} else {
			a.MinReports = v
		}
	}
	if c.QuarantineFor != 0 {
		a.QuarantineFor = c.QuarantineFor
	}
	if a.QuarantineFor < time.Second {
		p.add(field+".quarantine_for", "%s is too short: at least 1s", formatDuration(a.QuarantineFor))
	}
	// The default baseline is 7d; with another window than 1h, as many
	// whole windows as fit in 7d, within the bounds.
	windows := min(max(DefaultVolumeBaseline/a.Window, signals.MinBaselineWindows), signals.MaxBaselineWindows)
	a.Baseline = windows * a.Window
	if v := c.Volume; v != nil {
		compileVolume(*v, a, field+".volume", p)
	}
	return a
}

// compileVolume checks the volume block into a.
func compileVolume(c VolumeConfig, a *Anomaly, field string, p *problems) {
	if c.Sigma != nil {
		if v := *c.Sigma; v < 0 {
			p.add(field+".sigma", "%v is out of range: at least 0 (0 turns the signal off)", v)
		} else {
			a.Sigma = v
		}
	}
	if c.MinSends != nil {
		if v := *c.MinSends; v < 1 {
			p.add(field+".min_sends", "%d is out of range: at least 1", v)
		} else {
			a.MinSends = v
		}
	}
	if c.Baseline == 0 {
		return
	}
	a.Baseline = c.Baseline
	windows := a.Baseline / a.Window
	if a.Baseline%a.Window != 0 || windows < signals.MinBaselineWindows || windows > signals.MaxBaselineWindows {
		p.add(field+".baseline", "%s must be a whole number of windows (%s), from %d to %d of them: beyond %d, a sender growing by 10%% a window would fire",
			formatDuration(a.Baseline), formatDuration(a.Window), signals.MinBaselineWindows, signals.MaxBaselineWindows, signals.MaxBaselineWindows)
	}
}
