package framework

import (
	"context"
	"fmt"
	"reflect"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Migrate brings the database up to the registered models without ever
// dropping a table, a column or a row, so it is safe to run on every start:
//
//   - it creates the tables that are missing, with their foreign keys;
//   - it adds a missing soft-delete (and deleted-by) column to an existing
//     table whose model declares one;
//   - it creates an index on each soft-delete column, which the trash
//     view and purges search, and a partial index on the primary key of
//     the live rows, which the default list walks;
//   - on PostgreSQL, it gives each field tagged autoapi:"search" a
//     trigram (pg_trgm) GIN index, which serves contains filters, after
//     creating the extension if it can (if it cannot, it logs a warning
//     and goes on without those indexes);
//   - unless Config.ComputeCounts, it keeps each table's live and deleted
//     row counts in the counts table, through triggers (see
//     internal/counts).
//
// Tables are created parents first, whatever the order of registration:
// PostgreSQL checks that the table a foreign key references exists.
//
// Each change it makes is logged. Migrate is meant to run once per
// deployment, before the app instances start serving: several instances
// creating the same tables at the same moment can fail on PostgreSQL.
func (a *App) Migrate(ctx context.Context) error {
	db := a.cfg.DB
	log := a.cfg.Logger
	order := creationOrder(a.resources)
	trgm := &trigrams{}
	for _, desc := range order {
		model := desc.New().Interface()
		exists, err := probe(ctx, db, desc, "1")
		if err != nil {
			return fmt.Errorf("framework: migrate %s: %w", desc.Name, err)
		}
		if !exists {
			if _, err := db.NewCreateTable().Model(model).IfNotExists().WithForeignKeys().Exec(ctx); err != nil {
				return fmt.Errorf("framework: migrate %s: create table: %w", desc.Name, err)
			}
			log.InfoContext(ctx, "migrate: created table", "table", desc.Table.Name)
		} else {
			if err := a.addSoftDeleteColumns(ctx, desc); err != nil {
				return err
			}
		}
		if sd := desc.SoftDelete; sd != nil {
			name := softDeleteIndexName(desc)
			q := db.NewCreateIndex().Model(model).Index(name)
			for _, f := range sd.IndexColumns() {
				q = q.ColumnExpr("?", f.Ident)
			}
			q = q.ColumnExpr("?", desc.PK.Ident)
			if err := a.createIndex(ctx, desc, name, q); err != nil {
				return err
			}
			// The live rows in key order: the default list walks it and
			// stops after one page, however many rows are deleted, and a
			// count of live rows reads it alone.
			name = liveIndexName(desc)
			live, args := sd.Live()
			q = db.NewCreateIndex().Model(model).Index(name).ColumnExpr("?", desc.PK.Ident).Where(live, args...)
			if err := a.createIndex(ctx, desc, name, q); err != nil {
				return err
			}
		}
		for _, g := range desc.Unique {
			name := introspect.ShortName(fmt.Sprintf("uq_%s_%s%s", desc.Table.Name, g.Name, partialSuffix(desc)), 0)
			q := db.NewCreateIndex().Model(model).Unique().Index(name)
			for _, f := range g.Fields {
				q = q.ColumnExpr("?", f.Ident)
			}
			// On a soft-deletable resource the index is partial, so a
			// deleted row no longer holds its values: deleting a user
			// frees the email.
			if live, args := desc.SoftDelete.Live(); live != "" {
				q = q.Where(live, args...)
			}
			if err := a.createIndex(ctx, desc, name, q); err != nil {
				return err
			}
		}
		if err := a.searchIndexes(ctx, desc, model, trgm); err != nil {
			return err
		}
	}
	if a.counts != nil {
		return a.counts.Migrate(ctx, log, order)
	}
	return nil
}

// createIndex creates the index q describes unless it exists, and logs it
// when it does. Creating it plainly first and falling back to IF NOT EXISTS
// tells the two cases apart on every engine without reading catalogs.
func (a *App) createIndex(ctx context.Context, desc *introspect.Resource, name string, q *bun.CreateIndexQuery) error {
	if _, err := q.Exec(ctx); err == nil {
		a.cfg.Logger.InfoContext(ctx, "migrate: created index", "table", desc.Table.Name, "index", name)
		return nil
	}
	if _, err := q.IfNotExists().Exec(ctx); err != nil {
		return fmt.Errorf("framework: migrate %s: create index %s: %w", desc.Name, name, err)
	}
	return nil
}

// trigrams is what Migrate found out about pg_trgm, once per run.
type trigrams struct {
	tried bool
	// schema holds the extension's operator classes; "" when it could not
	// be created.
	schema string
}

// searchIndexes gives each field of desc tagged autoapi:"search" a
// trigram GIN index on PostgreSQL, where contains is ILIKE '%...%': a
// B-tree cannot serve a pattern that starts with a wildcard, a trigram
// index can. SQLite has no such index; its contains reads the table.
func (a *App) searchIndexes(ctx context.Context, desc *introspect.Resource, model any, trgm *trigrams) error {
	db := a.cfg.DB
	if !a.engine.trigrams {
		return nil
	}
	for _, f := range desc.Fields {
		if !f.Search {
			continue
		}
		if !trgm.tried {
			trgm.tried = true
			trgm.schema = a.createTrigrams(ctx)
		}
		if trgm.schema == "" {
			return nil
		}
		name := introspect.ShortName(fmt.Sprintf("idx_%s_%s_trgm", desc.Table.Name, f.Column), 0)
		// The operator class is named with its schema: the extension may
		// live in a schema that is not on the search path.
		q := db.NewCreateIndex().Model(model).Index(name).Using("gin").
			ColumnExpr("? ?.gin_trgm_ops", f.Ident, bun.Ident(trgm.schema))
		if err := a.createIndex(ctx, desc, name, q); err != nil {
			// The extension is there but this role may not use it (no
			// USAGE on its schema, say): as when it is missing.
			a.cfg.Logger.WarnContext(ctx, "migrate: a trigram index could not be created, so a contains filter on this field reads the whole table",
				"table", desc.Table.Name, "index", name, "error", err)
		}
	}
	return nil
}

// trgmSchemaQuery finds the schema of the pg_trgm extension.
const trgmSchemaQuery = "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"

// createTrigrams creates the pg_trgm extension unless it exists, and
// returns the schema it lives in; "" with a warning logged when it is
// not there and cannot be created (it needs a role that may create it,
// and PostgreSQL's contrib modules installed).
func (a *App) createTrigrams(ctx context.Context) string {
	db, log := a.cfg.DB, a.cfg.Logger
	var schema string
	err := db.NewRaw(trgmSchemaQuery).Scan(ctx, &schema)
	if err == nil {
		return schema
	}
	if _, err := db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_trgm"); err != nil {
		log.WarnContext(ctx, "migrate: the pg_trgm extension is missing and could not be created, so fields tagged search get no trigram index and a contains filter reads the whole table; create it as a superuser (CREATE EXTENSION pg_trgm) and run migrate again",
			"error", err)
		return ""
	}
	if err := db.NewRaw(trgmSchemaQuery).Scan(ctx, &schema); err != nil {
		log.WarnContext(ctx, "migrate: pg_trgm was created but cannot be found; fields tagged search get no trigram index", "error", err)
		return ""
	}
	log.InfoContext(ctx, "migrate: created extension", "extension", "pg_trgm", "schema", schema)
	return schema
}

// liveIndexName is the name Migrate gives the partial index on a
// soft-deletable resource's primary key over its live rows.
func liveIndexName(desc *introspect.Resource) string {
	return introspect.ShortName(fmt.Sprintf("idx_%s_live%s", desc.Table.Name, partialSuffix(desc)), 0)
}

// partialSuffix ends the names of the partial indexes over live rows: the
// column their predicate reads when it is a flag. A table that gains a
// flag beside its deletion time then gets indexes whose predicate reads
// the flag, which the queries test, rather than keeping, under the same
// names, indexes they would no longer use.
func partialSuffix(desc *introspect.Resource) string {
	if sd := desc.SoftDelete; sd != nil && sd.Flag != nil {
		return "_" + sd.Flag.Column
	}
	return ""
}

// softDeleteIndexName is the name Migrate gives the index on a resource's
// soft-delete columns: after the deletion time, or the flag when there is
// none.
func softDeleteIndexName(desc *introspect.Resource) string {
	f := desc.SoftDelete.At
	if f == nil {
		f = desc.SoftDelete.Flag
	}
	return introspect.ShortName(fmt.Sprintf("idx_%s_%s", desc.Table.Name, f.Column), 0)
}

// addSoftDeleteColumns adds the soft-delete strategy's columns that an
// existing table lacks. A flag added beside a deletion time is set on the
// rows that time says are deleted, so that they stay deleted.
func (a *App) addSoftDeleteColumns(ctx context.Context, desc *introspect.Resource) error {
	sd := desc.SoftDelete
	if sd == nil {
		return nil
	}
	for _, f := range sd.Columns() {
		added, err := a.addMissingColumn(ctx, desc, f, sd.ColumnDefault(f))
		if err != nil {
			return err
		}
		if !added || f != sd.Flag {
			continue
		}
		q, ok := sd.FlagFromStamp(a.cfg.DB.NewUpdate().Model(desc.New().Interface()))
		if !ok {
			continue
		}
		if _, err := unscopedUpdate(q, desc).Exec(ctx); err != nil {
			return fmt.Errorf("framework: migrate %s: set %s from %s: %w", desc.Name, sd.Flag.Column, sd.At.Column, err)
		}
	}
	return nil
}

// unscopedUpdate switches off bun's own soft-delete filter, as the
// handlers do, on a model that carries bun's soft_delete tag.
func unscopedUpdate(q *bun.UpdateQuery, desc *introspect.Resource) *bun.UpdateQuery {
	if desc.Table.SoftDeleteField != nil {
		return q.WhereAllWithDeleted()
	}
	return q
}

// addMissingColumn adds column f, its type followed by suffix, to the
// table when it lacks it, and reports whether it did.
func (a *App) addMissingColumn(ctx context.Context, desc *introspect.Resource, f *introspect.Field, suffix string) (bool, error) {
	// Qualified, because SQLite reads an unknown double-quoted name as a
	// string literal rather than failing.
	has, err := probe(ctx, a.cfg.DB, desc, string(desc.Table.SQLName)+"."+string(f.Ident))
	if err != nil || has {
		return false, err
	}
	bf := desc.Table.FieldMap[f.Column]
	_, err = a.cfg.DB.NewAddColumn().Model(desc.New().Interface()).
		ColumnExpr("? "+bf.CreateTableSQLType+suffix, f.Ident).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("framework: migrate %s: add column %s: %w", desc.Name, f.Column, err)
	}
	a.cfg.Logger.InfoContext(ctx, "migrate: added column", "table", desc.Table.Name, "column", f.Column)
	return true, nil
}

// probe reports whether "SELECT expr FROM table" is valid, which tells
// whether a table or column exists the same way on every engine. Only a
// failure of a second, trivially valid query means the database itself is
// at fault.
func probe(ctx context.Context, db bun.IDB, desc *introspect.Resource, expr string) (bool, error) {
	rows, err := db.QueryContext(ctx, "SELECT "+expr+" FROM ? WHERE 1 = 0", desc.Table.SQLName)
	if err == nil {
		return true, rows.Close()
	}
	if _, err2 := db.ExecContext(ctx, "SELECT 1"); err2 != nil {
		return false, err2
	}
	return false, nil
}

// creationOrder lists the resources so that each comes after the
// registered resources its belongs-to relations reference, keeping
// registration order otherwise. A cycle of references is broken where it
// closes, which PostgreSQL refuses: such tables must be created by hand.
func creationOrder(resources []*resource) []*introspect.Resource {
	byType := make(map[reflect.Type]*introspect.Resource, len(resources))
	for _, r := range resources {
		byType[r.desc.Type] = r.desc
	}
	order := make([]*introspect.Resource, 0, len(resources))
	seen := map[*introspect.Resource]bool{}
	var visit func(*introspect.Resource)
	visit = func(d *introspect.Resource) {
		if seen[d] {
			return
		}
		seen[d] = true
		for _, rel := range d.Relations {
			if parent := byType[rel.Related]; rel.Kind == schema.BelongsToRelation && parent != nil {
				visit(parent)
			}
		}
		order = append(order, d)
	}
	for _, r := range resources {
		visit(r.desc)
	}
	return order
}
