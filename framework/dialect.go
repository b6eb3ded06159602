package framework

import (
	"fmt"
	"strings"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/feature"
)

// requiredFeatures are the capabilities of a database that the generated
// handlers cannot do without, as bun's dialects declare them: every
// guarded state change and every insert reads its rows back in the same
// statement, and a bulk delete returns the keys it removed.
var requiredFeatures = []struct {
	feature feature.Feature
	what    string
}{
	{feature.Returning, "UPDATE ... RETURNING"},
	{feature.InsertReturning, "INSERT ... RETURNING"},
	{feature.DeleteReturning, "DELETE ... RETURNING"},
}

// checkDialect refuses a database the framework does not support, by what
// its dialect can do rather than by its name, so that New fails with the
// reason instead of every write failing at request time. PostgreSQL and
// SQLite are supported; MySQL, for one, has no RETURNING.
func checkDialect(db *bun.DB) error {
	var missing []string
	for _, r := range requiredFeatures {
		if !db.HasFeature(r.feature) {
			missing = append(missing, r.what)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("framework: the %s dialect is not supported: it lacks %s, which the generated handlers rely on; use PostgreSQL or SQLite",
			db.Dialect().Name(), strings.Join(missing, ", "))
	}
	return nil
}

// engine is what the framework does differently on the database it runs
// on, decided once in New. bun's dialects declare no feature flag for any
// of it, so each is read from the dialect's name, here only.
type engine struct {
	// rowLocks: the database takes row locks (SELECT ... FOR SHARE),
	// which writes of a child take on its parents. SQLite runs one write
	// transaction at a time and needs none.
	rowLocks bool
	// ilike: the database matches text ignoring case with ILIKE; SQLite's
	// LIKE ignores ASCII case itself.
	ilike bool
	// trigrams: the database has trigram indexes (pg_trgm), which
	// Migrate gives fields tagged autoapi:"search".
	trigrams bool
}

// engineOf returns the engine of db.
func engineOf(db *bun.DB) engine {
	pg := db.Dialect().Name() == dialect.PG
	return engine{rowLocks: pg, ilike: pg, trigrams: pg}
}
