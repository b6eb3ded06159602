// Package counts keeps the number of live and of soft-deleted rows of
// every registered table in one table, autoapi_counts, so that a list
// total without filters is one primary-key lookup however large the table
// grows. Everything about that table lives here: its DDL, the triggers
// that keep it right for every write, through any instance, in the
// writer's own transaction (a count is never stale after a write), the
// recount Migrate runs, the reader the list handler consumes, and the
// SQLite connection setting the triggers need (SQLitePragma).
//
// Each row also has a version, which every write to its table raises in
// the writer's transaction: a total worked out at one version is right for
// as long as the version stays the same, through any instance (see
// Store.Version).
//
// The conditions "live" and "deleted" come from each resource's
// soft-delete strategy (introspect.SoftDelete); this package never spells
// them out.
package counts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/dialect/feature"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Table is the name of the counts table.
const Table = "autoapi_counts"

// SQLitePragma is the connection setting the triggers need on SQLite, in
// the form of a _pragma DSN parameter: with recursive_triggers on, INSERT
// OR REPLACE fires the delete triggers of the rows it replaces, which
// would otherwise leave their counts behind. A pragma holds per
// connection, so it belongs in the DSN every connection is opened with:
// framework/database.Open sets it from here, and Migrate warns when the
// database it runs on has it off.
const SQLitePragma = "recursive_triggers(1)"

// row is a row of Table.
type row struct {
	bun.BaseModel `bun:"table:autoapi_counts"`

	Table   string `bun:"tbl,pk,type:varchar(255)"`
	Live    int64  `bun:"live,notnull"`
	Deleted int64  `bun:"deleted,notnull"`
	Version int64  `bun:"version,notnull,default:0"`
}

// Store reads and maintains Table on one database.
type Store struct {
	db       *bun.DB
	triggers triggers
}

// New returns the Store for db, or an error naming the dialect when this
// package cannot keep counts on it: the recount needs INSERT ... ON
// CONFLICT, and trigger syntax, which bun has no capability flag for, is
// written for PostgreSQL and SQLite only.
func New(db *bun.DB) (*Store, error) {
	name := db.Dialect().Name()
	if !db.HasFeature(feature.InsertOnConflict) {
		return nil, fmt.Errorf("counts: the %s dialect has no INSERT ... ON CONFLICT; set Config.ComputeCounts", name)
	}
	s := &Store{db: db}
	switch name {
	case dialect.SQLite:
		s.triggers = sqliteTriggers{}
	case dialect.PG:
		s.triggers = pgTriggers{}
	default:
		return nil, fmt.Errorf("counts: no count triggers for the %s dialect; set Config.ComputeCounts", name)
	}
	return s, nil
}

// Counts returns the live and soft-deleted rows of res's table. An error
// (no row, or no table when the database was not migrated by this app)
// tells the caller to count instead: a count is right either way, and a
// real fault shows there.
func (s *Store) Counts(ctx context.Context, res *introspect.Resource) (live, deleted int64, err error) {
	err = s.db.NewSelect().Model((*row)(nil)).Column("live", "deleted").
		Where("tbl = ?", res.Table.Name).Scan(ctx, &live, &deleted)
	return live, deleted, err
}

// Version returns the write version of res's table: it grows with every
// committed write to the table that fires its triggers (insert, update,
// delete, truncate), made through any instance or by hand, so a result
// computed from the table while the version read v, before and after, is
// right as long as the version still reads v. Writes that fire no trigger
// (PostgreSQL's session_replication_role = replica, a disabled trigger,
// ALTER COLUMN ... TYPE) do not raise it. An error (no row, no column, no
// table) means there is no version to go by.
func (s *Store) Version(ctx context.Context, res *introspect.Resource) (v int64, err error) {
	err = s.db.NewSelect().Model((*row)(nil)).Column("version").
		Where("tbl = ?", res.Table.Name).Scan(ctx, &v)
	return v, err
}

// bump is the statement that raises key's version.
func bump(key string) string {
	return "UPDATE " + Table + " SET version = version + 1 WHERE tbl = " + key + ";"
}

// triggers writes, for one engine, the statements that (re)create the
// triggers keeping a table's row in Table. Trigger syntax is the one thing
// the engines do not share; the implementation is picked once, in New.
type triggers interface {
	// create returns the statements that drop the triggers of table
	// (quoted) named after prefix, if they exist, and create them anew for
	// the soft-delete strategy sd (nil for none). key is the table's name
	// as a SQL string.
	create(prefix, table string, sd *introspect.SoftDelete, key string) []string
}

// update is the statement adding (sign "+") or taking away ("-") the row
// row (NEW or OLD) to the counts of key; asInt casts a condition to an
// integer where the engine needs it.
func update(row, sign string, sd *introspect.SoftDelete, key, asInt string) string {
	live, deleted := "1", "0"
	if sd != nil {
		live, deleted = "("+sd.LiveOf(row)+")"+asInt, "("+sd.DeletedOf(row)+")"+asInt
	}
	return "UPDATE " + Table + " SET live = live " + sign + " " + live + ", deleted = deleted " + sign + " " + deleted +
		", version = version + 1 WHERE tbl = " + key + ";"
}

type sqliteTriggers struct{}

func (sqliteTriggers) create(prefix, table string, sd *introspect.SoftDelete, key string) []string {
	var stmts []string
	for _, suffix := range []string{"_ins", "_del", "_upd", "_chg"} {
		stmts = append(stmts, `DROP TRIGGER IF EXISTS "`+prefix+suffix+`"`)
	}
	stmts = append(stmts,
		`CREATE TRIGGER "`+prefix+`_ins" AFTER INSERT ON `+table+` BEGIN `+update("NEW", "+", sd, key, "")+` END`,
		`CREATE TRIGGER "`+prefix+`_del" AFTER DELETE ON `+table+` BEGIN `+update("OLD", "-", sd, key, "")+` END`,
		// Any other change of a row changes what a filter finds.
		`CREATE TRIGGER "`+prefix+`_chg" AFTER UPDATE ON `+table+` BEGIN `+bump(key)+` END`)
	if sd != nil {
		// Only a write to the marker column can move a row between live
		// and deleted.
		stmts = append(stmts, `CREATE TRIGGER "`+prefix+`_upd" AFTER UPDATE OF `+string(sd.Marker().Ident)+` ON `+table+
			` WHEN (`+sd.LiveOf("OLD")+`) <> (`+sd.LiveOf("NEW")+`) BEGIN `+update("OLD", "-", sd, key, "")+" "+update("NEW", "+", sd, key, "")+` END`)
	}
	return stmts
}

type pgTriggers struct{}

func (pgTriggers) create(prefix, table string, sd *introspect.SoftDelete, key string) []string {
	fn := `"` + prefix + `"`
	var stmts []string
	for _, suffix := range []string{"_insdel", "_upd", "_trunc", "_chg"} {
		stmts = append(stmts, `DROP TRIGGER IF EXISTS "`+prefix+suffix+`" ON `+table)
	}
	// SET search_path FROM CURRENT: the function finds Table in the
	// schema it was created for, whatever the search path of the session
	// that writes.
	stmts = append(stmts, `CREATE OR REPLACE FUNCTION `+fn+`() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		UPDATE `+Table+` SET live = 0, deleted = 0, version = version + 1 WHERE tbl = `+key+`;
		RETURN NULL;
	END IF;
	IF TG_LEVEL = 'STATEMENT' THEN
		`+bump(key)+`
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN `+update("OLD", "-", sd, key, "::int")+` END IF;
	IF TG_OP <> 'DELETE' THEN `+update("NEW", "+", sd, key, "::int")+` END IF;
	RETURN NULL;
END $$`,
		`CREATE TRIGGER "`+prefix+`_insdel" AFTER INSERT OR DELETE ON `+table+` FOR EACH ROW EXECUTE FUNCTION `+fn+`()`,
		`CREATE TRIGGER "`+prefix+`_trunc" AFTER TRUNCATE ON `+table+` FOR EACH STATEMENT EXECUTE FUNCTION `+fn+`()`,
		// Any other change of rows changes what a filter finds: once per
		// statement, which is enough for a version.
		`CREATE TRIGGER "`+prefix+`_chg" AFTER UPDATE ON `+table+` FOR EACH STATEMENT EXECUTE FUNCTION `+fn+`()`)
	if sd != nil {
		stmts = append(stmts, `CREATE TRIGGER "`+prefix+`_upd" AFTER UPDATE OF `+string(sd.Marker().Ident)+` ON `+table+
			` FOR EACH ROW WHEN ((`+sd.LiveOf("OLD")+`) IS DISTINCT FROM (`+sd.LiveOf("NEW")+`)) EXECUTE FUNCTION `+fn+`()`)
	}
	return stmts
}

// Migrate creates Table and, for each resource, recreates its triggers and
// counts its rows afresh, in one transaction: creating the triggers locks
// writers out of the table until it commits, so no write falls between
// the count and the triggers, and a table that was recreated, or gained a
// soft-delete column, starts from a true count. Each recount that changes
// a row is logged to log.
func (s *Store) Migrate(ctx context.Context, log *slog.Logger, resources []*introspect.Resource) error {
	db := s.db
	if _, err := db.NewCreateTable().Model((*row)(nil)).IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("counts: migrate %s: %w", Table, err)
	}
	// A table made before versions were kept gains the column. Another
	// Migrate may add it at the same moment: then it is there.
	hasVersion := func() bool {
		_, err := db.ExecContext(ctx, "SELECT version FROM "+Table+" WHERE 1 = 0")
		return err == nil
	}
	if !hasVersion() {
		if _, err := db.ExecContext(ctx, "ALTER TABLE "+Table+" ADD COLUMN version BIGINT NOT NULL DEFAULT 0"); err != nil && !hasVersion() {
			return fmt.Errorf("counts: migrate %s: add version: %w", Table, err)
		}
	}
	s.checkPragma(ctx, log)
	for _, desc := range resources {
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			sd := desc.SoftDelete
			key := db.QueryGen().FormatQuery("?", desc.Table.Name)
			prefix := introspect.ShortName("autoapi_count_"+desc.Table.Name, 8)
			for _, stmt := range s.triggers.create(prefix, string(desc.Table.SQLName), sd, key) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			var before row
			err := tx.NewSelect().Model(&before).Where("tbl = ?", desc.Table.Name).Scan(ctx)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			// A row made anew starts its version at random, not at 0: a
			// row deleted and made again must not come back to versions
			// that totals were kept at.
			now := row{Table: desc.Table.Name, Version: rand.Int64N(1 << 62)}
			live, deleted := "count(*)", "0"
			if sd != nil {
				live = "COALESCE(SUM(CASE WHEN " + sd.LiveOf("") + " THEN 1 ELSE 0 END), 0)"
				deleted = "COALESCE(SUM(CASE WHEN " + sd.LiveOf("") + " THEN 0 ELSE 1 END), 0)"
			}
			if err := tx.NewSelect().TableExpr("?", desc.Table.SQLName).
				ColumnExpr(live).ColumnExpr(deleted).Scan(ctx, &now.Live, &now.Deleted); err != nil {
				return err
			}
			// The version moves on whatever the count: the table may have
			// changed while it had no triggers.
			if _, err := tx.NewInsert().Model(&now).On("CONFLICT (tbl) DO UPDATE").
				Set("live = EXCLUDED.live").Set("deleted = EXCLUDED.deleted").
				Set("version = ?TableAlias.version + 1").Exec(ctx); err != nil {
				return err
			}
			if before.Live == now.Live && before.Deleted == now.Deleted && before.Table != "" {
				return nil
			}
			log.InfoContext(ctx, "migrate: counted rows", "table", desc.Table.Name, "live", now.Live, "deleted", now.Deleted)
			return nil
		})
		if err != nil {
			return fmt.Errorf("counts: migrate %s: count triggers: %w", desc.Name, err)
		}
	}
	return nil
}

// checkPragma warns when SQLitePragma is off on the connection Migrate
// runs on: the database was opened other than with
// framework/database.Open, and a write through INSERT OR REPLACE (which
// the framework never makes, but another program may) would leave the
// counts wrong.
func (s *Store) checkPragma(ctx context.Context, log *slog.Logger) {
	if s.db.Dialect().Name() != dialect.SQLite {
		return
	}
	var on int
	if err := s.db.QueryRowContext(ctx, "PRAGMA recursive_triggers").Scan(&on); err == nil && on == 0 {
		log.WarnContext(ctx, "SQLite recursive_triggers is off: an INSERT OR REPLACE would leave "+Table+" wrong; open the database with framework/database.Open, or add _pragma="+SQLitePragma+" to its DSN")
	}
}
