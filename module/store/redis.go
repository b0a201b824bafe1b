package store

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Defaults of RedisOptions.
const (
	DefaultKeyPrefix    = "restlink:"
	DefaultRedisTimeout = 50 * time.Millisecond
)

// RedisOptions says how to reach the Redis a fleet of sidecars shares.
// Exactly one of URL and Addrs is set.
type RedisOptions struct {
	// URL of a single Redis node: redis://[user[:password]@]host:port[/db]
	// or rediss:// for TLS. Query parameters are go-redis's own (they
	// cannot lengthen Timeout: this package sets every timeout).
	URL string
	// Addrs are Sentinel addresses (with MasterName) or Redis Cluster
	// seed nodes (two or more, or one with Cluster).
	Addrs []string
	// MasterName is the name of the Sentinel-monitored master.
	MasterName string
	// Cluster treats a single address in Addrs as a Cluster seed node.
	Cluster bool

	// Username for Redis ACL authentication; the URL's user-info
	// overrides it.
	Username string
	// Credentials, when set, is called every time a connection is made
	// and returns the username ("" keeps Username) and the password, so
	// that a rotated password file takes effect at the next reconnection
	// without a restart. It overrides a password in the URL. Its error
	// must not contain the password: it is wrapped into store errors.
	Credentials func(ctx context.Context) (username, password string, err error)
	// TLS, when set, makes connections use TLS with this configuration
	// (a rediss:// URL alone gives the system roots and the URL's host).
	TLS *tls.Config

	// KeyPrefix starts every key, so that an ACL can confine the
	// sidecars to ~restlink:* and several fleets can share a Redis. It
	// must not contain braces, which would break the hash tags. Default:
	// "restlink:".
	KeyPrefix string
	// Timeout bounds every store call, connecting included: no call blocks
	// longer, whatever the caller's context says. It must cover a TLS
	// handshake if the Redis is far away. Default: 50ms.
	Timeout time.Duration
	// PoolSize is the most connections per node; zero means go-redis's
	// default of ten per CPU.
	PoolSize int
}

// Redis is a Store shared by every sidecar that uses the same Redis: each
// decision is one Lua script, run with EVALSHA (EVAL when the server
// does not have it cached), so it is atomic across the fleet. Every key
// has a TTL, so Redis holds only what is live.
//
// Keys are KeyPrefix, a hash tag and a kind: a whole admission lives in
// the slot of its scope's tag, so that a Redis Cluster can run it as one
// script (an attribution or a tally, always alone, has its own slot; the
// holds, few, share one key):
//
//	restlink:{<scope>}:w:<limit key>              sliding-window counter (hash of step → count)
//	restlink:{<scope>}:d:<yyyymmdd>:<limit key>   UTC-day counter
//	restlink:{<scope>}:p:<period>:<limit key>     period counter (expires a day after the period)
//	restlink:{<scope>}:i:<idempotency key>        idempotency record (hash)
//	restlink:{p:<pace key>}                       pacing bucket (GCRA arrival time, µs)
//	restlink:{s:<signing key>}                    signing seconds claimed (sorted set)
//	restlink:{m:<marker key>}                     webhook marker ("p" pending, "d" done)
//	restlink:att:<message id>                     message attribution (hash: data, cost)
//	restlink:{t:<tally key>}                      tally (hash of slot → count)
//	restlink:{h:holds}                            every hold (hash of key → "<until, Unix ms>:<data>")
//
// Commands, for a least-privilege ACL. The client logs in with HELLO
// (falling back to AUTH on servers without it), which Redis allows
// without a grant, and sends SELECT when the URL names a database, PING
// (Ping, the fallback's probe), EVALSHA, EVAL and SET (ConfirmMarker); a
// Cluster client also sends CLUSTER SLOTS. The scripts call GET, SET,
// DEL, INCRBY, DECRBY, PEXPIRE, PEXPIREAT, HGET, HMGET, HSET, HDEL,
// HGETALL, HINCRBY, ZADD, ZSCORE and ZREMRANGEBYSCORE. SCRIPT LOAD is not
// used. So (with the default KeyPrefix):
//
//	ACL SETUSER sidecar on >password resetkeys ~restlink:* resetchannels -@all
//	    +select +ping +evalsha +eval +cluster|slots
//	    +get +set +del +incrby +decrby +pexpire +pexpireat +hget +hmget +hset +hdel
//	    +hgetall +hincrby +zadd +zscore +zremrangebyscore
//
// Sentinel itself is asked SENTINEL GET-MASTER-ADDR-BY-NAME and kept
// watching with SUBSCRIBE; grant those on the sentinels if they use ACLs.
//
// Times come from the callers (Admission.Now and the now arguments), so
// the fleet's clocks must agree (NTP) to well within a window step.
//
// The pacing bucket does not use github.com/go-redis/redis_rate: that
// limiter's keys always start with its own "rate:" prefix (outside
// KeyPrefix and any ACL key pattern), it reads the time from the Redis
// server rather than the caller, and it has no reservation: it answers
// allow or retry-after, while a reservation must hand out a wait within
// MaxWait and advance the bucket for it.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration

	admit, settle, usage    *redis.Script
	adjust                  *redis.Script
	attribute, reconcile    *redis.Script
	reserve, claimSecond    *redis.Script
	claimMarker, releaseMkr *redis.Script
	tally                   *redis.Script
	placeHold, listHolds    *redis.Script
	liftHold                *redis.Script
}

var _ SharedStore = (*Redis)(nil)

// NewRedis returns a Redis store. It does not connect: connections are
// made on use, so a sidecar can start while Redis is down (Ping checks
// it). Its errors never contain the URL's user-info, and the client's own
// log lines (see RouteClientLog) never contain a password it was given.
func NewRedis(opts RedisOptions) (*Redis, error) {
	prefix := opts.KeyPrefix
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, errors.New("configuring redis: key prefix must not contain braces")
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultRedisTimeout
	}
	uo := &redis.UniversalOptions{
		Username:   opts.Username,
		MasterName: opts.MasterName,
		PoolSize:   opts.PoolSize,
		TLSConfig:  opts.TLS,

		// One attempt per call: a script that is sent again after a lost
		// reply might run twice, and then read its own idempotency claim
		// as another request's. The fallback takes over instead.
		MaxRetries:            -1,
		DialerRetries:         1,
		DialTimeout:           timeout,
		ReadTimeout:           timeout,
		WriteTimeout:          timeout,
		PoolTimeout:           timeout,
		ContextTimeoutEnabled: true,

		// No CLIENT SETINFO or CLIENT MAINT_NOTIFICATIONS at connection:
		// fewer commands for the ACL to allow.
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	switch {
	case opts.URL != "" && len(opts.Addrs) > 0:
		return nil, errors.New("configuring redis: set a url or addresses, not both")
	case opts.URL != "":
		if err := fromURL(opts.URL, uo); err != nil {
			return nil, err
		}
		if opts.TLS != nil {
			uo.TLSConfig = opts.TLS
		}
		clientLog.redact(uo.Password)
	case len(opts.Addrs) > 0:
		uo.Addrs = opts.Addrs
		uo.IsClusterMode = opts.Cluster && opts.MasterName == ""
	default:
		return nil, errors.New("configuring redis: no url or addresses")
	}
	if opts.Credentials != nil {
		fixed := uo.Username
		creds := opts.Credentials
		uo.Password = ""
		uo.CredentialsProviderContext = func(ctx context.Context) (string, string, error) {
			user, pass, err := creds(ctx)
			if err != nil {
				return "", "", fmt.Errorf("reading redis credentials: %w", err)
			}
			if user == "" {
				user = fixed
			}
			clientLog.redact(pass)
			return user, pass, nil
		}
	}
	return &Redis{
		client:      redis.NewUniversalClient(uo),
		prefix:      prefix,
		timeout:     timeout,
		admit:       redis.NewScript(admitScript),
		settle:      redis.NewScript(settleScript),
		usage:       redis.NewScript(usageScript),
		adjust:      redis.NewScript(adjustScript),
		attribute:   redis.NewScript(attributeScript),
		reconcile:   redis.NewScript(reconcileScript),
		reserve:     redis.NewScript(reserveScript),
		claimSecond: redis.NewScript(claimSecondScript),
		claimMarker: redis.NewScript(claimMarkerScript),
		releaseMkr:  redis.NewScript(releaseMarkerScript),
		tally:       redis.NewScript(tallyScript),
		placeHold:   redis.NewScript(placeHoldScript),
		listHolds:   redis.NewScript(listHoldsScript),
		liftHold:    redis.NewScript(liftHoldScript),
	}, nil
}

// fromURL sets uo's address, database, TLS and credentials from a
// redis:// or rediss:// URL. The user-info is taken out before go-redis
// parses the rest, so that no error can echo a password.
func fromURL(raw string, uo *redis.UniversalOptions) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("configuring redis: malformed url") // url.Error would quote it whole
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return errors.New("configuring redis: url scheme must be redis or rediss")
	}
	user := u.User
	u.User = nil
	o, err := redis.ParseURL(u.String())
	if err != nil {
		return fmt.Errorf("configuring redis: %w", err)
	}
	uo.Addrs = []string{o.Addr}
	uo.DB = o.DB
	uo.TLSConfig = o.TLSConfig
	if user != nil {
		if name := user.Username(); name != "" {
			uo.Username = name
		}
		if pass, ok := user.Password(); ok {
			uo.Password = pass
		}
	}
	return nil
}

// Ping checks that Redis answers, within Timeout.
func (r *Redis) Ping(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := r.client.Ping(cctx).Err(); err != nil {
		return r.fail(ctx, "pinging redis", err)
	}
	return nil
}

// Close closes the connections.
func (r *Redis) Close() error { return r.client.Close() }

// fail wraps an error of a Redis call. When the caller's own context
// ended, that is the error: the store was not at fault. Anything else
// (refused or broken connections, timeouts, authentication and server
// errors) wraps ErrUnavailable, so that the caller's on_error rule
// applies.
func (r *Redis) fail(parent context.Context, doing string, err error) error {
	if perr := parent.Err(); perr != nil {
		return fmt.Errorf("%s: %w", doing, perr)
	}
	return fmt.Errorf("%s: %w: %w", doing, ErrUnavailable, err)
}

// run runs a script within Timeout.
func (r *Redis) run(ctx context.Context, s *redis.Script, keys []string, args ...any) (any, error) {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	return s.Run(cctx, r.client, keys, args...).Result()
}

// scriptCall is one run of a script in runEach.
type scriptCall struct {
	keys []string
	args []any
}

// runEach runs s once per call, pipelined within Timeout: one round trip
// (one per node, with a Cluster client, which sends each call to the node
// of its keys). Each run is atomic by itself, not with the others; runs on
// the same keys run in order. The runs that found the script not cached
// on the server (restarted or flushed) did not run, and are sent again
// with EVAL. It returns each run's reply, in order, or the first error.
func (r *Redis) runEach(ctx context.Context, s *redis.Script, calls []scriptCall) ([]any, error) {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	out := make([]any, len(calls))
	run := func(todo []int, eval bool) ([]int, error) {
		pipe := r.client.Pipeline()
		cmds := make([]*redis.Cmd, len(todo))
		for j, i := range todo {
			if eval {
				cmds[j] = s.Eval(cctx, pipe, calls[i].keys, calls[i].args...)
			} else {
				cmds[j] = s.EvalSha(cctx, pipe, calls[i].keys, calls[i].args...)
			}
		}
		_, _ = pipe.Exec(cctx) // each command's error is its own
		var again []int
		for j, cmd := range cmds {
			switch err := cmd.Err(); {
			case err == nil:
				out[todo[j]] = cmd.Val()
			case !eval && redis.HasErrorPrefix(err, "NOSCRIPT"):
				again = append(again, todo[j])
			default:
				return nil, err
			}
		}
		return again, nil
	}
	all := make([]int, len(calls))
	for i := range all {
		all[i] = i
	}
	again, err := run(all, false)
	if err == nil && len(again) > 0 {
		_, err = run(again, true)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scoped is the start of the keys of scope: the prefix and the scope's
// hash tag.
func (r *Redis) scoped(scope string) string {
	return r.prefix + "{" + scope + "}:"
}

// tagged is the key of a single-key kind (pacing, signing, markers): the
// key is its own hash tag.
func (r *Redis) tagged(kind, key string) string {
	return r.prefix + "{" + kind + ":" + key + "}"
}
