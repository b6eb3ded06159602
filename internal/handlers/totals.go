package handlers

import (
	"context"
	"crypto/sha256"
	"sync"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// maxTotals bounds the totals a service keeps: one per distinct filter and
// caller scope, which clients can make numerous.
const maxTotals = 1024

// totals keeps the totals of a resource's filtered (and own-rows) lists,
// each with the table's write version it was counted at (Counter.Version).
// The version is kept by the database and raised by every committed write
// through any instance, so a total is used only while the table is as it
// was counted: never stale, and a filtered list that is read more than
// written costs a version lookup instead of a count of every row the
// filter examines.
//
// A total is kept only when the version read the same before and after
// the count: a write committed in between, which the count may or may not
// have seen, leaves it uncached.
type totals struct {
	mu sync.Mutex
	// byID is keyed by the hash of the conditions, whose text a client
	// can make as long as a URL: the entries have one size.
	byID map[[sha256.Size]byte]countedTotal
}

// countedTotal is a total and the version it was counted at.
type countedTotal struct {
	version, total int64
}

// get returns the total of conditions (the count's, with their values,
// and so the caller's scope), from the cache when res's
// table has not changed since it was counted, else from count.
func (t *totals) get(ctx context.Context, versions Counter, res *introspect.Resource, conditions string, count func() (int64, error)) (int64, error) {
	before, err := versions.Version(ctx, res)
	if err != nil {
		return count() // no version to go by: count, keep nothing
	}
	key := sha256.Sum256([]byte(conditions))
	t.mu.Lock()
	c, ok := t.byID[key]
	t.mu.Unlock()
	if ok && c.version == before {
		return c.total, nil
	}
	n, err := count()
	if err != nil {
		return 0, err
	}
	if after, err := versions.Version(ctx, res); err == nil && after == before {
		t.mu.Lock()
		if t.byID == nil || len(t.byID) >= maxTotals {
			// Start over rather than keep the first filters for good.
			t.byID = make(map[[sha256.Size]byte]countedTotal)
		}
		t.byID[key] = countedTotal{version: before, total: n}
		t.mu.Unlock()
	}
	return n, nil
}
