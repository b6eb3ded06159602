package framework_test

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"
	"testing"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/feature"
	"github.com/uptrace/bun/dialect/mysqldialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"

	"github.com/autoapi-go/autoapi/framework"
)

// unreachable is a connector whose database is never reached: New must
// decide from the dialect alone, before any query.
type unreachable struct{}

func (unreachable) Connect(context.Context) (driver.Conn, error) {
	return nil, errors.New("unreachable: no database behind this connector")
}

func (unreachable) Driver() driver.Driver { return nil }

// TestNewRefusesUnsupportedDatabases checks that New refuses a database
// whose dialect lacks what the handlers rely on, naming the dialect and
// what it lacks, and accepts a dialect that has it.
func TestNewRefusesUnsupportedDatabases(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		dialect func() *bun.DB
		compute bool
		want    []string // in the error; none: New succeeds
	}{
		{"mysql", func() *bun.DB { return bun.NewDB(sql.OpenDB(unreachable{}), mysqldialect.New()) }, false,
			[]string{"mysql dialect is not supported", "UPDATE ... RETURNING"}},
		{"mysql with computed counts", func() *bun.DB { return bun.NewDB(sql.OpenDB(unreachable{}), mysqldialect.New()) }, true,
			[]string{"mysql dialect is not supported"}},
		{"sqlite without RETURNING", func() *bun.DB {
			return bun.NewDB(sql.OpenDB(unreachable{}), sqlitedialect.New(sqlitedialect.WithoutFeature(feature.Returning)))
		}, false, []string{"sqlite dialect is not supported", "UPDATE ... RETURNING"}},
		{"sqlite without ON CONFLICT keeps counts", func() *bun.DB {
			return bun.NewDB(sql.OpenDB(unreachable{}), sqlitedialect.New(sqlitedialect.WithoutFeature(feature.InsertOnConflict)))
		}, false, []string{"sqlite dialect has no INSERT ... ON CONFLICT", "ComputeCounts"}},
		{"sqlite without ON CONFLICT computes counts", func() *bun.DB {
			return bun.NewDB(sql.OpenDB(unreachable{}), sqlitedialect.New(sqlitedialect.WithoutFeature(feature.InsertOnConflict)))
		}, true, nil},
		{"sqlite", func() *bun.DB { return bun.NewDB(sql.OpenDB(unreachable{}), sqlitedialect.New()) }, false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := c.dialect()
			defer db.Close()
			app, err := framework.New(framework.Config{DB: db, Policy: testPolicy, ComputeCounts: c.compute, Logger: quietLogger()})
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || app != nil {
				t.Fatalf("New accepted the database")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
