package framework

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"

	"github.com/autoapi-go/autoapi/introspect"
)

// CountsTable is the table in which Migrate keeps the number of live and
// of soft-deleted rows of every registered table, so that a list total
// without filters is one primary-key lookup however large the table grows.
// Triggers keep it right for every write, through any instance, in the
// writer's own transaction: a count is never stale after a write.
const CountsTable = "autoapi_counts"

// countRow is a row of CountsTable.
type countRow struct {
	bun.BaseModel `bun:"table:autoapi_counts"`

	Table   string `bun:"tbl,pk,type:varchar(255)"`
	Live    int64  `bun:"live,notnull"`
	Deleted int64  `bun:"deleted,notnull"`
}

// countTriggers writes, for one engine, the statements that create the
// triggers keeping a table's row in CountsTable. Trigger syntax is the
// one thing the engines do not share; the implementation is picked once,
// from the dialect, when the App is made.
type countTriggers interface {
	// create returns the statements creating the triggers of table
	// (quoted) with soft-delete column sd (quoted; "" for none), named
	// after prefix, unless they exist.
	create(prefix, table, sd, key string) []string
}

func countTriggersFor(d schema.Dialect) (countTriggers, error) {
	switch d.Name() {
	case dialect.SQLite:
		return sqliteTriggers{}, nil
	case dialect.PG:
		return pgTriggers{}, nil
	}
	return nil, fmt.Errorf("framework: no count triggers for the %s dialect; set Config.ComputeCounts", d.Name())
}

// deltas returns the live and deleted increments of a row as SQL
// integer expressions over row (NEW or OLD).
func deltas(row, sd, asInt string) (live, deleted string) {
	if sd == "" {
		return "1", "0"
	}
	return "(" + row + "." + sd + " IS NULL)" + asInt, "(" + row + "." + sd + " IS NOT NULL)" + asInt
}

type sqliteTriggers struct{}

func (sqliteTriggers) create(prefix, table, sd, key string) []string {
	update := func(row, sign string) string {
		live, deleted := deltas(row, sd, "")
		return "UPDATE " + CountsTable + " SET live = live " + sign + " " + live + ", deleted = deleted " + sign + " " + deleted + " WHERE tbl = " + key + ";"
	}
	stmts := []string{
		`CREATE TRIGGER IF NOT EXISTS "` + prefix + `_ins" AFTER INSERT ON ` + table + ` BEGIN ` + update("NEW", "+") + ` END`,
		`CREATE TRIGGER IF NOT EXISTS "` + prefix + `_del" AFTER DELETE ON ` + table + ` BEGIN ` + update("OLD", "-") + ` END`,
	}
	if sd != "" {
		stmts = append(stmts, `CREATE TRIGGER IF NOT EXISTS "`+prefix+`_upd" AFTER UPDATE OF `+sd+` ON `+table+
			` WHEN (OLD.`+sd+` IS NULL) <> (NEW.`+sd+` IS NULL) BEGIN `+update("OLD", "-")+" "+update("NEW", "+")+` END`)
	}
	return stmts
}

type pgTriggers struct{}

func (pgTriggers) create(prefix, table, sd, key string) []string {
	update := func(row, sign string) string {
		live, deleted := deltas(row, sd, "::int")
		return "UPDATE " + CountsTable + " SET live = live " + sign + " " + live + ", deleted = deleted " + sign + " " + deleted + " WHERE tbl = " + key + ";"
	}
	fn := `"` + prefix + `"`
	stmts := []string{
		`CREATE OR REPLACE FUNCTION ` + fn + `() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'INSERT' THEN ` + update("OLD", "-") + ` END IF;
	IF TG_OP <> 'DELETE' THEN ` + update("NEW", "+") + ` END IF;
	RETURN NULL;
END $$`,
		`CREATE OR REPLACE TRIGGER "` + prefix + `_insdel" AFTER INSERT OR DELETE ON ` + table + ` FOR EACH ROW EXECUTE FUNCTION ` + fn + `()`,
	}
	if sd != "" {
		stmts = append(stmts, `CREATE OR REPLACE TRIGGER "`+prefix+`_upd" AFTER UPDATE OF `+sd+` ON `+table+
			` FOR EACH ROW WHEN ((OLD.`+sd+` IS NULL) IS DISTINCT FROM (NEW.`+sd+` IS NULL)) EXECUTE FUNCTION `+fn+`()`)
	}
	return stmts
}

// migrateCounts creates CountsTable, and for each resource its triggers
// and, when it has none yet, its row, counted in the same transaction as
// the triggers are created: the triggers lock out writers until it
// commits, so no write falls between the count and the triggers.
func (a *App) migrateCounts(ctx context.Context, resources []*introspect.Resource) error {
	db := a.cfg.DB
	if _, err := db.NewCreateTable().Model((*countRow)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("framework: migrate %s: %w", CountsTable, err)
	}
	for _, desc := range resources {
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			sd := ""
			if desc.SoftDelete != nil {
				sd = string(desc.SoftDelete.Ident)
			}
			key := db.QueryGen().FormatQuery("?", desc.Table.Name)
			prefix := "autoapi_count_" + desc.Table.Name
			for _, stmt := range a.triggers.create(prefix, string(desc.Table.SQLName), sd, key) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			exists, err := tx.NewSelect().Model((*countRow)(nil)).Where("tbl = ?", desc.Table.Name).Exists(ctx)
			if err != nil || exists {
				return err
			}
			row := countRow{Table: desc.Table.Name}
			live, deleted := "count(*)", "0"
			if sd != "" {
				live = "COALESCE(SUM(CASE WHEN " + sd + " IS NULL THEN 1 ELSE 0 END), 0)"
				deleted = "COALESCE(SUM(CASE WHEN " + sd + " IS NULL THEN 0 ELSE 1 END), 0)"
			}
			if err := tx.NewSelect().TableExpr("?", desc.Table.SQLName).
				ColumnExpr(live).ColumnExpr(deleted).Scan(ctx, &row.Live, &row.Deleted); err != nil && err != sql.ErrNoRows {
				return err
			}
			if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
				return err
			}
			a.cfg.Logger.InfoContext(ctx, "migrate: counting rows", "table", desc.Table.Name, "live", row.Live, "deleted", row.Deleted)
			return nil
		})
		if err != nil {
			return fmt.Errorf("framework: migrate %s: count triggers: %w", desc.Name, err)
		}
	}
	return nil
}
