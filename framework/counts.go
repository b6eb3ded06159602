package framework

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/schema"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// countsTable is the table in which Migrate keeps the number of live and
// of soft-deleted rows of every registered table, so that a list total
// without filters is one primary-key lookup however large the table grows.
// Triggers keep it right for every write, through any instance, in the
// writer's own transaction: a count is never stale after a write.
const countsTable = "autoapi_counts"

// countRow is a row of countsTable.
type countRow struct {
	bun.BaseModel `bun:"table:autoapi_counts"`

	Table   string `bun:"tbl,pk,type:varchar(255)"`
	Live    int64  `bun:"live,notnull"`
	Deleted int64  `bun:"deleted,notnull"`
}

// countTriggers writes, for one engine, the statements that (re)create
// the triggers keeping a table's row in countsTable. Trigger syntax is the
// one thing the engines do not share; the implementation is picked once,
// from the dialect, when the App is made.
type countTriggers interface {
	// create returns the statements that drop the triggers of table
	// (quoted) named after prefix, if they exist, and create them anew for
	// the soft-delete strategy sd (nil for none). key is the table's name
	// as a SQL string.
	create(prefix, table string, sd *introspect.SoftDelete, key string) []string
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

// countUpdate is the statement adding (sign "+") or taking away ("-") the
// row row (NEW or OLD) to the counts of key; asInt casts a condition to an
// integer where the engine needs it.
func countUpdate(row, sign string, sd *introspect.SoftDelete, key, asInt string) string {
	live, deleted := "1", "0"
	if sd != nil {
		live, deleted = "("+sd.LiveOf(row)+")"+asInt, "("+sd.DeletedOf(row)+")"+asInt
	}
	return "UPDATE " + countsTable + " SET live = live " + sign + " " + live + ", deleted = deleted " + sign + " " + deleted + " WHERE tbl = " + key + ";"
}

type sqliteTriggers struct{}

func (sqliteTriggers) create(prefix, table string, sd *introspect.SoftDelete, key string) []string {
	var stmts []string
	for _, suffix := range []string{"_ins", "_del", "_upd"} {
		stmts = append(stmts, `DROP TRIGGER IF EXISTS "`+prefix+suffix+`"`)
	}
	stmts = append(stmts,
		`CREATE TRIGGER "`+prefix+`_ins" AFTER INSERT ON `+table+` BEGIN `+countUpdate("NEW", "+", sd, key, "")+` END`,
		`CREATE TRIGGER "`+prefix+`_del" AFTER DELETE ON `+table+` BEGIN `+countUpdate("OLD", "-", sd, key, "")+` END`)
	if sd != nil {
		stmts = append(stmts, `CREATE TRIGGER "`+prefix+`_upd" AFTER UPDATE OF `+string(sd.Marker().Ident)+` ON `+table+
			` WHEN (`+sd.LiveOf("OLD")+`) <> (`+sd.LiveOf("NEW")+`) BEGIN `+countUpdate("OLD", "-", sd, key, "")+" "+countUpdate("NEW", "+", sd, key, "")+` END`)
	}
	return stmts
}

type pgTriggers struct{}

func (pgTriggers) create(prefix, table string, sd *introspect.SoftDelete, key string) []string {
	fn := `"` + prefix + `"`
	var stmts []string
	for _, suffix := range []string{"_insdel", "_upd", "_trunc"} {
		stmts = append(stmts, `DROP TRIGGER IF EXISTS "`+prefix+suffix+`" ON `+table)
	}
	// SET search_path FROM CURRENT: the function finds countsTable in the
	// schema it was created for, whatever the search path of the session
	// that writes.
	stmts = append(stmts, `CREATE OR REPLACE FUNCTION `+fn+`() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		UPDATE `+countsTable+` SET live = 0, deleted = 0 WHERE tbl = `+key+`;
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN `+countUpdate("OLD", "-", sd, key, "::int")+` END IF;
	IF TG_OP <> 'DELETE' THEN `+countUpdate("NEW", "+", sd, key, "::int")+` END IF;
	RETURN NULL;
END $$`,
		`CREATE TRIGGER "`+prefix+`_insdel" AFTER INSERT OR DELETE ON `+table+` FOR EACH ROW EXECUTE FUNCTION `+fn+`()`,
		`CREATE TRIGGER "`+prefix+`_trunc" AFTER TRUNCATE ON `+table+` FOR EACH STATEMENT EXECUTE FUNCTION `+fn+`()`)
	if sd != nil {
		stmts = append(stmts, `CREATE TRIGGER "`+prefix+`_upd" AFTER UPDATE OF `+string(sd.Marker().Ident)+` ON `+table+
			` FOR EACH ROW WHEN ((`+sd.LiveOf("OLD")+`) IS DISTINCT FROM (`+sd.LiveOf("NEW")+`)) EXECUTE FUNCTION `+fn+`()`)
	}
	return stmts
}

// migrateCounts creates countsTable and, for each resource, recreates its
// triggers and counts its rows afresh, in one transaction: creating the
// triggers locks writers out of the table until it commits, so no write
// falls between the count and the triggers, and a table that was
// recreated, or gained a soft-delete column, starts from a true count.
func (a *App) migrateCounts(ctx context.Context, resources []*introspect.Resource) error {
	db := a.cfg.DB
	if _, err := db.NewCreateTable().Model((*countRow)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("framework: migrate %s: %w", countsTable, err)
	}
	for _, desc := range resources {
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			sd := desc.SoftDelete
			key := db.QueryGen().FormatQuery("?", desc.Table.Name)
			prefix := shortName("autoapi_count_"+desc.Table.Name, 8)
			for _, stmt := range a.triggers.create(prefix, string(desc.Table.SQLName), sd, key) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			var before countRow
			err := tx.NewSelect().Model(&before).Where("tbl = ?", desc.Table.Name).Scan(ctx)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			row := countRow{Table: desc.Table.Name}
			live, deleted := "count(*)", "0"
			if sd != nil {
				live = "COALESCE(SUM(CASE WHEN " + sd.LiveOf("") + " THEN 1 ELSE 0 END), 0)"
				deleted = "COALESCE(SUM(CASE WHEN " + sd.LiveOf("") + " THEN 0 ELSE 1 END), 0)"
			}
			if err := tx.NewSelect().TableExpr("?", desc.Table.SQLName).
				ColumnExpr(live).ColumnExpr(deleted).Scan(ctx, &row.Live, &row.Deleted); err != nil {
				return err
			}
			if before == row {
				return nil
			}
			if _, err := tx.NewInsert().Model(&row).On("CONFLICT (tbl) DO UPDATE").
				Set("live = EXCLUDED.live").Set("deleted = EXCLUDED.deleted").Exec(ctx); err != nil {
				return err
			}
			a.cfg.Logger.InfoContext(ctx, "migrate: counted rows", "table", desc.Table.Name, "live", row.Live, "deleted", row.Deleted)
			return nil
		})
		if err != nil {
			return fmt.Errorf("framework: migrate %s: count triggers: %w", desc.Name, err)
		}
	}
	return nil
}

// shortName is name when it fits PostgreSQL's 63-byte identifiers with
// room for a suffix of reserve bytes; a longer one is cut and given a hash
// of the whole, so that two long names never meet where the database
// would cut them to the same.
func shortName(name string, reserve int) string {
	limit := 63 - reserve
	if len(name) <= limit {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(name))
	return fmt.Sprintf("%s_%08x", name[:limit-9], h.Sum32())
}
