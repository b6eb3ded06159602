package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	// PocketBase's own tables (collections, superusers, logs), which the
	// pocketbase package imports for its command the same way.
	_ "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"

	"github.com/autoapi-go/autoapi/example/loadtest/load"
)

// servePocketBase is the PocketBase server process: a posts collection
// whose rules hide soft-deleted rows, seeded with the same posts as the
// example (load.Post), and a superuser for the trash view. It writes
// ready.json to dir when seeded, then serves until killed.
func servePocketBase(dir string) error {
	posts, err := strconv.Atoi(os.Getenv(envPosts))
	if err != nil {
		return err
	}
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir})
	if err := app.Bootstrap(); err != nil {
		return err
	}
	if err := app.RunAllMigrations(); err != nil {
		return err
	}
	if os.Getenv(envLog) != "true" {
		// PocketBase's own switch for its request log.
		app.Settings().Logs.MaxDays = 0
	}

	coll := core.NewBaseCollection("posts")
	coll.Fields.Add(
		&core.NumberField{Name: "userId", OnlyInt: true},
		&core.TextField{Name: "title"},
		&core.TextField{Name: "content"},
		&core.NumberField{Name: "views", OnlyInt: true},
		&core.AutodateField{Name: "created", OnCreate: true},
		&core.AutodateField{Name: "updated", OnCreate: true, OnUpdate: true},
		&core.DateField{Name: "deleted"},
	)
	// A deleted post is hidden from everyone but superusers, whom rules
	// do not bind: PocketBase's way of a soft delete.
	live := "deleted = ''"
	coll.ListRule, coll.ViewRule = types.Pointer(live), types.Pointer(live)
	coll.AddIndex("idx_colldeleted", false, "deleted", "")
	if err := app.Save(coll); err != nil {
		return err
	}
	err = app.RunInTransaction(func(tx core.App) error {
		now := types.NowDateTime()
		for i := range posts {
			user, title, views, deleted := load.Post(i)
			r := core.NewRecord(coll)
			r.Id = pbID(i)
			r.Set("userId", user)
			r.Set("title", title)
			r.Set("content", "load")
			r.Set("views", views)
			if deleted {
				r.Set("deleted", now)
			}
			if err := tx.Save(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}

	superusers, err := app.FindCollectionByNameOrId(core.CollectionNameSuperusers)
	if err != nil {
		return err
	}
	su := core.NewRecord(superusers)
	su.SetEmail("bench@example.com")
	su.SetPassword("bench-password-1234")
	if err := app.Save(su); err != nil {
		return err
	}
	token, err := su.NewAuthToken()
	if err != nil {
		return err
	}
	raw, err := json.Marshal(ready{Token: token})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "ready.json"), raw, 0o600); err != nil {
		return err
	}
	return apis.Serve(app, apis.ServeConfig{HttpAddr: os.Getenv(envAddr)})
}
