package restlink

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// This file is what the sidecar's other Caddy modules see of the core: a
// config file kept live, read through immutable per-snapshot views, with a
// subscription to new snapshots and sections of the status document. They
// import this package; it never names them.

// ConfigRef is what the sidecar's handlers share: the path of the config
// file and the live config serving it. Embed it in a Caddy module that
// serves from the config, and call its Provision and Cleanup from the
// module's.
type ConfigRef struct {
	// Path of the sidecar's YAML config file, which holds the workspaces,
	// their key sources, tenants and routing. Relative paths are resolved
	// against the working directory. The file and the key files it names
	// are watched and reloaded on change. Required.
	ConfigPath string `json:"config,omitempty"`

	live *liveConfig
}

// Provision acquires the live config of the file (loading it if no other
// handler has) and adds it to the metrics of the Caddy config.
func (c *ConfigRef) Provision(ctx caddy.Context) error {
	if c.ConfigPath == "" {
		return errors.New("config: the path of the sidecar's YAML config file is required")
	}
	path, err := filepath.Abs(c.ConfigPath)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if c.live, err = acquireLiveConfig(ctx, path, defaultEnviron); err != nil {
		return err
	}
	if err := registerMetrics(ctx.GetMetricsRegistry(), c.live); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	return nil
}

// Cleanup releases the live config; the last handler using a config file
// stops its watcher.
func (c *ConfigRef) Cleanup() error {
	if c.live == nil {
		return nil
	}
	_, err := liveConfigs.Delete(c.live.path)
	return err
}

// Live returns the live config the ref holds once provisioned.
func (c *ConfigRef) Live() Live { return Live{c.live} }

// Live is a config file kept live, as the sidecar's other modules see it.
type Live struct{ lc *liveConfig }

// Path is the config file's absolute path: it names the live config.
func (l Live) Path() string { return l.lc.path }

// Webhooks returns the webhooks of the snapshot serving now.
func (l Live) Webhooks() *Webhooks { return l.lc.current.Load().webhookView }

// OnPublish calls notify now, and again each time a new snapshot is
// published, until cancel is called; notify reads what it needs through
// l. Calls are serialised with reloads: notify must be quick, and must not
// call OnPublish.
func (l Live) OnPublish(notify func()) (cancel func()) {
	return l.lc.subscribe(func(*snapshot) { notify() })
}

// statusSections are the sections other modules add to the status
// document, registered in their init functions.
var statusSections []statusSection

// statusSection is one registered section of the status document.
type statusSection struct {
	name  string
	value func(l Live, now time.Time) (any, bool)
}

// RegisterStatusSection adds a section to the status document of every
// live config, under name, after the core's own fields. value returns the
// section for a config, or false to leave it out. Call it from init, as
// Caddy modules register themselves.
func RegisterStatusSection(name string, value func(l Live, now time.Time) (any, bool)) {
	if slices.ContainsFunc(statusSections, func(s statusSection) bool { return s.name == name }) {
		panic("restlink: status section " + name + " registered twice")
	}
	statusSections = append(statusSections, statusSection{name: name, value: value})
}
