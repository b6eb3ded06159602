package framework

import (
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/handlers"
)

// limiter holds a token bucket (golang.org/x/time/rate) per caller, for
// reads and for writes. Echo's RateLimiterMemoryStore keeps the same
// buckets but answers only yes or no; a 429 should say when to come back
// (Retry-After), which takes the bucket's own reservation, so the buckets
// are kept here.
type limiter struct {
	reads, writes buckets
}

// buckets are the buckets of one limit, by caller, with the time each was
// last used; those unused for expire are dropped.
type buckets struct {
	limit  rate.Limit
	burst  int
	expire time.Duration

	mu sync.Mutex
	by map[string]*bucket
}

// sweepPerCall is how many buckets each call looks at for expiry, and
// maxBuckets how many callers a limit keeps track of at most (about 20 MB):
// an attacker with many addresses cannot make the map grow without end.
const (
	sweepPerCall = 4
	maxBuckets   = 100_000
)

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

func newLimiter(cfg RateLimitConfig) *limiter {
	if cfg.Reads.PerSecond == 0 && cfg.Writes.PerSecond == 0 {
		return nil
	}
	mk := func(r Rate) buckets {
		return buckets{limit: rate.Limit(r.PerSecond), burst: r.Burst, expire: cfg.Expire, by: map[string]*bucket{}}
	}
	return &limiter{reads: mk(cfg.Reads), writes: mk(cfg.Writes)}
}

// take spends one token of key's bucket at now, or says how long until
// one is there.
func (b *buckets) take(key string, now time.Time) (bool, time.Duration) {
	if b.limit == 0 {
		return true, 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	// A few entries are looked at on every call (a map's range starts
	// at a random place), so that the unused ones go a little at a time
	// and no call stops every request to sweep them all.
	seen := 0
	for k, v := range b.by {
		if now.Sub(v.used) > b.expire {
			delete(b.by, k)
		}
		if seen++; seen == sweepPerCall {
			break
		}
	}
	bk, ok := b.by[key]
	if !ok {
		if len(b.by) >= maxBuckets {
			// Full: a caller seen long ago makes room, whichever the
			// random start of range finds first.
			for k := range b.by {
				delete(b.by, k)
				break
			}
		}
		bk = &bucket{lim: rate.NewLimiter(b.limit, b.burst)}
		b.by[key] = bk
	}
	bk.used = now
	r := bk.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		// Not spent: a refused request costs the caller nothing more.
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// allow charges the request to its caller: the principal p, or the
// caller's address ip when p is anonymous or its credentials failed. An
// IPv6 address counts by its /64, the block one subscriber usually holds,
// so that walking through the addresses of one block finds no new bucket.
func (l *limiter) allow(c echo.Context, ip string, p auth.Principal, failed bool) error {
	key := "id:" + p.ID
	if failed || p.Anonymous() {
		key = "ip:" + ip
		if addr, err := netip.ParseAddr(ip); err == nil && addr.Is6() && !addr.Is4In6() {
			if prefix, err := addr.Prefix(64); err == nil {
				key = "ip:" + prefix.String()
			}
		}
	}
	b := &l.writes
	if m := c.Request().Method; m == http.MethodGet || m == http.MethodHead {
		b = &l.reads
	}
	if ok, wait := b.take(key, time.Now()); !ok {
		return handlers.WithRetryAfter(handlers.NewProblem(http.StatusTooManyRequests, "too many requests: slow down and retry after the time Retry-After gives"), wait)
	}
	return nil
}
