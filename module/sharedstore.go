package restlink

import (
	"context"
	"crypto/tls"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/23telecom/restlink-sidecar/module/store"
)

// storePlan is the compiled store section: nil redis means the in-memory
// store of one sidecar. It is comparable: a reload that leaves it as it
// was keeps the store (and its connections).
type storePlan struct {
	redis *redisPlan
}

// redisPlan is the compiled store.redis section.
type redisPlan struct {
	url          string
	addrs        string // comma-separated, to stay comparable
	masterName   string
	cluster      bool
	username     string
	passwordFile string
	caFile       string
	tls          bool
	keyPrefix    string
	timeout      time.Duration
	onError      store.OnError
	fleetSize    int
}

// Defaults of store.redis, applied by the compiler: the section is optional
// as a whole, so its defaults cannot be config defaults.
const (
	defaultStoreTimeout   = store.DefaultRedisTimeout
	defaultStoreKeyPrefix = store.DefaultKeyPrefix
	defaultOnError        = "local"
	defaultFleetSize      = 1
)

// compileStore checks the store section.
func compileStore(c StoreConfig, p *problems) storePlan {
	r := c.Redis
	if r == nil {
		return storePlan{}
	}
	rp := &redisPlan{
		url: r.URL, addrs: strings.Join(r.Addrs, ","), masterName: r.MasterName, cluster: r.Cluster,
		username: r.Username, passwordFile: r.PasswordFile, caFile: r.CAFile, tls: r.TLS,
		keyPrefix: r.KeyPrefix, timeout: r.Timeout, fleetSize: r.FleetSize,
	}
	switch {
	case r.URL == "" && len(r.Addrs) == 0:
		p.add("store.redis", "set url (one node) or addrs (Sentinel with master_name, or Cluster)")
	case r.URL != "" && len(r.Addrs) > 0:
		p.add("store.redis", "set url or addrs, not both")
	case r.URL != "":
		u, err := url.Parse(r.URL)
		switch {
		case err != nil:
			p.add("store.redis.url", "not a URL") // the parser's message may quote the password
		case u.Scheme != "redis" && u.Scheme != "rediss":
			p.add("store.redis.url", "scheme must be redis or rediss, not %q", u.Scheme)
		case u.Host == "":
			p.add("store.redis.url", "has no host")
		default:
			if _, hasPassword := u.User.Password(); hasPassword && r.PasswordFile != "" {
				p.add("store.redis.password_file", "the url holds a password too: keep it in one place")
			}
			rp.tls = rp.tls || u.Scheme == "rediss"
		}
	}
	if r.MasterName != "" && len(r.Addrs) == 0 {
		p.add("store.redis.master_name", "needs the Sentinel addresses in addrs")
	}
	if rp.keyPrefix == "" {
		rp.keyPrefix = defaultStoreKeyPrefix
	}
	if strings.ContainsAny(rp.keyPrefix, "{}") {
		p.add("store.redis.key_prefix", "must not contain { or }: they would break Redis Cluster's hash tags")
	}
	switch {
	case rp.timeout == 0:
		rp.timeout = defaultStoreTimeout
	case rp.timeout < 0:
		p.add("store.redis.timeout", "must be positive")
	}
	switch r.OnError {
	case "", defaultOnError:
		rp.onError = store.OnErrorLocal
	case "refuse":
		rp.onError = store.OnErrorRefuse
	default:
		p.add("store.redis.on_error", "must be \"local\" or \"refuse\", not %q", r.OnError)
	}
	switch {
	case rp.fleetSize == 0:
		rp.fleetSize = defaultFleetSize
	case rp.fleetSize < 0:
		p.add("store.redis.fleet_size", "must be at least 1")
	}
	if r.CAFile != "" && !rp.tls {
		p.add("store.redis.ca_file", "is used only with TLS (a rediss:// url, or tls: true)")
	}
	return storePlan{redis: rp}
}

// same reports whether two plans open the same store.
func (sp storePlan) same(other storePlan) bool {
	return sp.redis == nil && other.redis == nil || sp.redis != nil && other.redis != nil && *sp.redis == *other.redis
}

// openStore opens the store of a plan: memory, the in-memory store of the
// live config, or Redis with it as the fallback. password is the Redis
// password now (asked anew on every connection, so that a rotated file
// takes effect; nil if it could not be read); logger logs outages and
// the Redis client's own messages.
func openStore(sp storePlan, memory *store.Memory, password func() *string, logger func() *zap.Logger) (store.Store, error) {
	rp := sp.redis
	if rp == nil {
		return memory, nil
	}
	shared, err := openRedis(rp, password, logger)
	if err != nil {
		return nil, err
	}
	store.RouteClientLog(func(l store.ClientLog) { redisClientLogged(logger(), l) })
	return store.NewFallback(shared, memory, store.FallbackOptions{
		Mode: rp.onError, FleetSize: rp.fleetSize, OnOutage: func(o store.Outage) { storeOutage(logger(), o) },
	}), nil
}

// openRedis opens the shared store of a store.redis section.
func openRedis(rp *redisPlan, password func() *string, logger func() *zap.Logger) (*store.Redis, error) {
	opts := store.RedisOptions{
		URL: rp.url, MasterName: rp.masterName, Cluster: rp.cluster, Username: rp.username,
		KeyPrefix: rp.keyPrefix, Timeout: rp.timeout,
	}
	if rp.addrs != "" {
		opts.Addrs = strings.Split(rp.addrs, ",")
	}
	if rp.passwordFile != "" {
		opts.Credentials = func(context.Context) (string, string, error) {
			pw := password()
			if pw == nil {
				return "", "", errors.New("the password file could not be read")
			}
			return "", *pw, nil
		}
	}
	if rp.tls {
		roots, _, err := loadRoots(rp.caFile)
		if err != nil {
			return nil, err
		}
		opts.TLS = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	if u, err := url.Parse(rp.url); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			logger().Warn("store.redis.url holds a password; keep it in store.redis.password_file instead, which is watched and rotated")
		}
	}
	return store.NewRedis(opts)
}

// storeOutage logs an outage of the shared store: once when it starts and
// once when it is over, never per request. The requests it touched are
// counted in the second line (affected).
func storeOutage(log *zap.Logger, o store.Outage) {
	switch {
	case !o.Over:
		log.Error("the shared store (Redis) is unavailable; until it answers, POSTs with an idempotency key are answered from this sidecar's own records or refused, and other sends follow store.redis.on_error",
			zap.Error(o.Err))
	case o.Closed:
		log.Warn("this sidecar stopped using the shared store (Redis) during an outage (a shutdown, or a reload that changed the store section)",
			zap.Time("started", o.Started), zap.Duration("lasted", o.Lasted), zap.Int64("affected", o.Affected), zap.Int64("failures", o.Failures))
	default:
		log.Info("the shared store (Redis) outage is over: it has answered for "+store.OutageQuiet.String()+" without a failure",
			zap.Time("started", o.Started), zap.Duration("lasted", o.Lasted), zap.Int64("affected", o.Affected), zap.Int64("failures", o.Failures))
	}
}

// redisClientLogged logs the Redis client's own messages, which it would
// print to stderr as raw text: the first of a run, then once it has been
// quiet for a while, how many there were.
func redisClientLogged(log *zap.Logger, l store.ClientLog) {
	if l.Over {
		log.Info("the Redis client has been quiet for "+store.OutageQuiet.String(), zap.Int64("messages", l.Lines))
		return
	}
	log.Warn("the Redis client reported a problem; its further messages are counted until it has been quiet for "+store.OutageQuiet.String(),
		zap.String("message", l.Message))
}

// readRedisPassword reads the Redis password file into password, keeping
// the last good password if it cannot be read.
func readRedisPassword(sp storePlan, password *atomic.Pointer[string]) []string {
	if sp.redis == nil || sp.redis.passwordFile == "" {
		password.Store(nil)
		return nil
	}
	pw, _, warnings, err := Source{File: sp.redis.passwordFile}.read("Redis password", nil, nil)
	switch {
	case err != nil && password.Load() != nil:
		return append(warnings, "store.redis.password_file: "+err.Error()+"; keeping the last good password")
	case err != nil:
		return append(warnings, "store.redis.password_file: "+err.Error()+"; connecting without a password")
	}
	if old := password.Load(); old == nil || *old != pw {
		password.Store(&pw)
	}
	return warnings
}

// where names the Redis a plan reaches, for the status page: hosts only,
// never a URL's user-info.
func (rp *redisPlan) where() string {
	if rp.addrs != "" {
		return rp.addrs
	}
	if u, err := url.Parse(rp.url); err == nil {
		return u.Host
	}
	return ""
}
