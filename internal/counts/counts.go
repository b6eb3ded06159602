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
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"

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

// row is a row of Table: one shard of one table's counts. A table's
// counts are the sums over its shards (see triggers.shards): every write
// lands in one shard in its own transaction, so the sums are exact.
type row struct {
	bun.BaseModel `bun:"table:autoapi_counts"`

	Table   string `bun:"tbl,pk,type:varchar(255)"`
	Shard   int    `bun:"shard,pk,notnull"`
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
	var l, d sql.NullInt64
	err = s.db.NewSelect().Model((*row)(nil)).
		ColumnExpr("CAST(SUM(live) AS BIGINT)").ColumnExpr("CAST(SUM(deleted) AS BIGINT)").
		Where("tbl = ?", res.Table.Name).Scan(ctx, &l, &d)
	if err == nil && !l.Valid {
		err = sql.ErrNoRows
	}
	return l.Int64, d.Int64, err
}

// Version returns the write version of res's table: it grows with every
// committed write to the table that fires its triggers (insert, update,
// delete, truncate), made through any instance or by hand, so a result
// computed from the table while the version read v, before and after, is
// right as long as the version still reads v. Writes that fire no trigger
// (PostgreSQL's session_replication_role = replica, a disabled trigger,
// ALTER COLUMN ... TYPE) do not raise it. An error (no row, no column, no
// table) means there is no version to go by.
//
// The version is the sum of the shards' versions, read in one statement:
// each write adds one to one shard, so the sum rises with every commit and
// never returns to a value it had.
func (s *Store) Version(ctx context.Context, res *introspect.Resource) (v int64, err error) {
	var sum sql.NullInt64
	err = s.db.NewSelect().Model((*row)(nil)).ColumnExpr("CAST(SUM(version) AS BIGINT)").
		Where("tbl = ?", res.Table.Name).Scan(ctx, &sum)
	if err == nil && !sum.Valid {
		err = sql.ErrNoRows
	}
	return sum.Int64, err
}

// bump is the statement that raises the version of the shard where
// picks.
func bump(counts, where string) string {
	return "UPDATE " + counts + " SET version = version + 1 WHERE " + where + ";"
}

// triggers writes, for one engine, the statements that (re)create the
// triggers keeping a table's row in Table. Trigger syntax is the one thing
// the engines do not share; the implementation is picked once, in New.
type triggers interface {
	// create returns the statements that drop the triggers of table
	// (quoted) named after prefix, if they exist, and create them anew for
	// the soft-delete strategy sd (nil for none). key is the table's name
	// as a SQL string, and counts the name the triggers give Table.
	create(prefix, table string, sd *introspect.SoftDelete, key, counts string) []string
	// shards is the number of rows a table's counts are spread over.
	shards() int
	// target is the name triggers give Table, resolved on db once, when
	// they are made.
	target(ctx context.Context, db *bun.DB) (string, error)
}

// update is the statement adding (sign "+") or taking away ("-") the row
// row (NEW or OLD) to the counts in the shard where picks; asInt casts a
// condition to an integer where the engine needs it.
func update(counts, row, sign string, sd *introspect.SoftDelete, where, asInt string) string {
	live, deleted := "1", "0"
	if sd != nil {
		live, deleted = "("+sd.LiveOf(row)+")"+asInt, "("+sd.DeletedOf(row)+")"+asInt
	}
	return "UPDATE " + counts + " SET live = live " + sign + " " + live + ", deleted = deleted " + sign + " " + deleted +
		", version = version + 1 WHERE " + where + ";"
}

// move is the statement that moves a row changed from OLD to NEW between
// the live and deleted counts of the shard where picks, in one write of
// the shard.
func move(counts string, sd *introspect.SoftDelete, where, asInt string) string {
	of := func(cond func(string) string, row string) string { return "(" + cond(row) + ")" + asInt }
	return "UPDATE " + counts + " SET live = live - " + of(sd.LiveOf, "OLD") + " + " + of(sd.LiveOf, "NEW") +
		", deleted = deleted - " + of(sd.DeletedOf, "OLD") + " + " + of(sd.DeletedOf, "NEW") +
		", version = version + 1 WHERE " + where + ";"
}

type sqliteTriggers struct{}

func (sqliteTriggers) shards() int { return 1 }

func (sqliteTriggers) target(context.Context, *bun.DB) (string, error) { return Table, nil }

func (sqliteTriggers) create(prefix, table string, sd *introspect.SoftDelete, key, counts string) []string {
	where := "tbl = " + key + " AND shard = 0"
	var stmts []string
	for _, suffix := range []string{"_ins", "_del", "_upd", "_chg"} {
		stmts = append(stmts, `DROP TRIGGER IF EXISTS "`+prefix+suffix+`"`)
	}
	stmts = append(stmts,
		`CREATE TRIGGER "`+prefix+`_ins" AFTER INSERT ON `+table+` BEGIN `+update(counts, "NEW", "+", sd, where, "")+` END`,
		`CREATE TRIGGER "`+prefix+`_del" AFTER DELETE ON `+table+` BEGIN `+update(counts, "OLD", "-", sd, where, "")+` END`,
		// Any other change of a row changes what a filter finds.
		`CREATE TRIGGER "`+prefix+`_chg" AFTER UPDATE ON `+table+` BEGIN `+bump(counts, where)+` END`)
	if sd != nil {
		// Only a write to the marker column can move a row between live
		// and deleted.
		stmts = append(stmts, `CREATE TRIGGER "`+prefix+`_upd" AFTER UPDATE OF `+string(sd.Marker().Ident)+` ON `+table+
			` WHEN (`+sd.LiveOf("OLD")+`) <> (`+sd.LiveOf("NEW")+`) BEGIN `+move(counts, sd, where, "")+` END`)
	}
	return stmts
}

// pgTriggers spread a table's counts over 16 rows: a write updates one of
// them, picked by the writer's backend process, and holds that row until it
// commits. With a single row, every concurrent writer of a table would
// queue there, one commit after another. A transaction always writes the
// same shard of a table.
type pgTriggers struct{}

func (pgTriggers) shards() int { return 16 }

// target names Table with the schema it is in for db's session, so that
// a trigger function finds it whatever the search path of the session
// that writes.
func (pgTriggers) target(ctx context.Context, db *bun.DB) (string, error) {
	var schema string
	if err := db.NewRaw("SELECT current_schema()").Scan(ctx, &schema); err != nil {
		return "", err
	}
	return db.QueryGen().FormatQuery("?.?", bun.Ident(schema), bun.Ident(Table)), nil
}

func (t pgTriggers) create(prefix, table string, sd *introspect.SoftDelete, key, counts string) []string {
	all := "tbl = " + key
	where := all + " AND shard = pg_backend_pid() % " + strconv.Itoa(t.shards())
	fn := `"` + prefix + `"`
	// Row-level updates fire the function only with a soft-delete strategy.
	moveRow := "NULL;"
	if sd != nil {
		moveRow = move(counts, sd, where, "::int")
	}
	var stmts []string
	for _, suffix := range []string{"_insdel", "_upd", "_trunc", "_chg"} {
		stmts = append(stmts, `DROP TRIGGER IF EXISTS "`+prefix+suffix+`" ON `+table)
	}
	// counts names Table with its schema (see target). A SET search_path
	// clause would do the same, at the price of switching the setting,
	// and working out the path again, on every call.
	stmts = append(stmts, `CREATE OR REPLACE FUNCTION `+fn+`() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		UPDATE `+counts+` SET live = 0, deleted = 0, version = version + 1 WHERE `+all+`;
		RETURN NULL;
	END IF;
	IF TG_LEVEL = 'STATEMENT' THEN
		`+bump(counts, where)+`
		RETURN NULL;
	END IF;
	IF TG_OP = 'INSERT' THEN
		`+update(counts, "NEW", "+", sd, where, "::int")+`
	ELSIF TG_OP = 'DELETE' THEN
		`+update(counts, "OLD", "-", sd, where, "::int")+`
	ELSE
		`+moveRow+`
	END IF;
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
	counts, err := s.triggers.target(ctx, db)
	if err != nil {
		return fmt.Errorf("counts: migrate %s: %w", Table, err)
	}
	// A table of an earlier shape (one row per table, or no versions) is
	// made anew: it holds nothing that the recounts below do not rebuild,
	// and until they have, totals are counted. Only the table in the
	// schema this app creates its tables in is looked at, or dropped.
	_, shapeErr := db.ExecContext(ctx, "SELECT shard, version FROM "+counts+" WHERE 1 = 0")
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if shapeErr != nil {
			if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+counts); err != nil {
				return err
			}
		}
		_, err := tx.NewCreateTable().Model((*row)(nil)).IfNotExists().Exec(ctx)
		return err
	})
	if err != nil {
		return fmt.Errorf("counts: migrate %s: %w", Table, err)
	}
	s.checkPragma(ctx, log)
	n := s.triggers.shards()
	for _, desc := range resources {
		err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			sd := desc.SoftDelete
			name := desc.Table.Name
			key := db.QueryGen().FormatQuery("?", name)
			prefix := introspect.ShortName("autoapi_count_"+name, 8)
			for _, stmt := range s.triggers.create(prefix, string(desc.Table.SQLName), sd, key, counts) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return err
				}
			}
			var live, deleted sql.NullInt64 // the sums before the recount
			if err := tx.NewSelect().Model((*row)(nil)).ColumnExpr("CAST(SUM(live) AS BIGINT)").ColumnExpr("CAST(SUM(deleted) AS BIGINT)").
				Where("tbl = ?", name).Scan(ctx, &live, &deleted); err != nil {
				return err
			}
			liveExpr, deletedExpr := "count(*)", "0"
			if sd != nil {
				liveExpr = "COALESCE(SUM(CASE WHEN " + sd.LiveOf("") + " THEN 1 ELSE 0 END), 0)"
				deletedExpr = "COALESCE(SUM(CASE WHEN " + sd.LiveOf("") + " THEN 0 ELSE 1 END), 0)"
			}
			// Shard 0 takes the whole count; the others start from nothing.
			// A shard made anew starts its version at random (shard 0) or
			// at 0, not where a row deleted and made again once was: the
			// summed version must not come back to values totals were kept
			// at. Existing shards keep their versions, and shard 0's moves
			// on whatever the count, since the table may have changed while
			// it had no triggers.
			shards := make([]row, n)
			for i := range shards {
				shards[i] = row{Table: name, Shard: i}
			}
			shards[0].Version = rand.Int64N(1 << 62)
			if err := tx.NewSelect().TableExpr("?", desc.Table.SQLName).
				ColumnExpr(liveExpr).ColumnExpr(deletedExpr).Scan(ctx, &shards[0].Live, &shards[0].Deleted); err != nil {
				return err
			}
			if _, err := tx.NewUpdate().Model((*row)(nil)).Set("live = 0").Set("deleted = 0").
				Where("tbl = ? AND shard <> 0", name).Exec(ctx); err != nil {
				return err
			}
			if _, err := tx.NewInsert().Model(&shards).On("CONFLICT (tbl, shard) DO UPDATE").
				Set("live = EXCLUDED.live").Set("deleted = EXCLUDED.deleted").
				Set("version = ?TableAlias.version + CASE WHEN ?TableAlias.shard = 0 THEN 1 ELSE 0 END").Exec(ctx); err != nil {
				return err
			}
			if live.Valid && live.Int64 == shards[0].Live && deleted.Int64 == shards[0].Deleted {
				return nil
			}
			log.InfoContext(ctx, "migrate: counted rows", "table", name, "live", shards[0].Live, "deleted", shards[0].Deleted)
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
