package framework

import (
	"context"
	"fmt"
)

// Migrate creates the tables of registered models that do not exist yet
// (with their foreign keys) and an index on each soft-delete column, which
// every live-rows query filters on. It never alters or drops anything, so it
// is safe to run on every start.
func (a *App) Migrate(ctx context.Context) error {
	db := a.cfg.DB
	for _, r := range a.resources {
		model := r.desc.New().Interface()
		if _, err := db.NewCreateTable().Model(model).IfNotExists().WithForeignKeys().Exec(ctx); err != nil {
			return fmt.Errorf("framework: migrate %s: create table: %w", r.desc.Name, err)
		}
		if sd := r.desc.SoftDelete; sd != nil {
			name := fmt.Sprintf("idx_%s_%s", r.desc.Table.Name, sd.Column)
			if _, err := db.NewCreateIndex().Model(model).Index(name).Column(sd.Column).IfNotExists().Exec(ctx); err != nil {
				return fmt.Errorf("framework: migrate %s: create index %s: %w", r.desc.Name, name, err)
			}
		}
	}
	return nil
}
