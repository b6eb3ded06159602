package main

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/casbin/casbin/v2/model"
	stringadapter "github.com/casbin/casbin/v2/persist/string-adapter"
	"github.com/labstack/echo/v4"
	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
)

//go:embed policy.csv
var defaultPolicy string

// demoTokens are the example's static bearer tokens.
var demoTokens = auth.StaticTokens{
	"admin-token": {ID: "1", Roles: []string{"admin"}},
	"alice-token": {ID: "2", Roles: []string{"user"}},
	"bob-token":   {ID: "3", Roles: []string{"user"}},
}

// options are the example's settings, from flags.
type options struct {
	policyFile string
	logger     *slog.Logger
	// cursorSecret signs pagination cursors.
	cursorSecret []byte
	// jwtSecret, when set, makes the example accept HS256 JWTs (claims
	// sub and roles) besides the demo tokens, from jwtIssuer for
	// jwtAudience (defaultJWTIssuer and defaultJWTAudience when empty).
	jwtSecret   []byte
	jwtIssuer   string
	jwtAudience string
	// retention, when positive, is how long deleted rows are kept before
	// the scheduled purge removes them (resources in kept excepted).
	retention time.Duration
	// skipMigrate leaves the schema alone at start: the deployment runs
	// "example migrate" once instead, before its instances start.
	skipMigrate bool
	// openAPIMode says who gets which OpenAPI document; each caller its
	// own by default.
	openAPIMode framework.DocumentMode
	// operations adjusts the operational settings (access log, metrics,
	// tracing, limits, CORS), from the operations flags; nil for none.
	operations func(*framework.Config)
}

// newApp registers the example's models and overrides on db.
func newApp(ctx context.Context, db *bun.DB, o options) (*framework.App, error) {
	var authenticator auth.Authenticator = demoTokens
	if len(o.jwtSecret) > 0 {
		jwtAuth, err := auth.NewJWT(auth.JWTConfig{
			Secret:   o.jwtSecret,
			Issuer:   cmp.Or(o.jwtIssuer, defaultJWTIssuer),
			Audience: cmp.Or(o.jwtAudience, defaultJWTAudience),
		})
		if err != nil {
			return nil, err
		}
		authenticator = auth.Chain(jwtAuth, demoTokens)
	}
	cfg := framework.Config{
		DB:            db,
		Authenticator: authenticator,
		Logger:        o.logger,
		CursorSecret:  o.cursorSecret,
		OpenAPI: framework.OpenAPIConfig{
			Title:       "autoapi example",
			Description: "Users, posts, comments, invoices, tags, attachments and pages, with soft deletes. Demo tokens: admin-token, alice-token, bob-token.",
			License:     "Apache-2.0",
			Mode:        o.openAPIMode,
		},
	}
	switch o.policyFile {
	case "":
		cfg.Policy = defaultPolicy
	case "db":
		adapter, err := dbPolicy(ctx, db)
		if err != nil {
			return nil, err
		}
		cfg.PolicyAdapter = adapter
	default:
		cfg.PolicyFile = o.policyFile
	}
	if o.retention > 0 {
		cfg.Retention = map[string]time.Duration{}
		for _, name := range []string{"users", "posts", "comments", "attachments", "invoices", "pages"} {
			if !kept[name] {
				cfg.Retention[name] = o.retention
			}
		}
	}
	if o.operations != nil {
		o.operations(&cfg)
	}
	app, err := framework.New(cfg)
	if err != nil {
		return nil, err
	}
	for _, register := range []func(*framework.App, ...framework.Option) error{
		framework.Register[User],
		framework.Register[Post],
		framework.Register[Comment],
		framework.Register[Invoice],
		framework.Register[Tag],
		framework.Register[Attachment],
		framework.Register[Page],
	} {
		if err := register(app); err != nil {
			return nil, err
		}
	}
	if err := app.Override("attachments", framework.OpDelete, deleteAttachmentPermanently, framework.Responds(http.StatusOK, attachmentDeleted{})); err != nil {
		return nil, err
	}
	if err := app.Override("attachments", framework.OpBulkDelete, deleteAttachmentsPermanently, framework.Responds(http.StatusOK, attachmentsDeleted{})); err != nil {
		return nil, err
	}
	return app, nil
}

// newServer builds the example's HTTP server on db: tables created, demo
// users seeded, routes mounted.
func newServer(ctx context.Context, db *bun.DB, o options) (*framework.App, *echo.Echo, error) {
	app, err := newApp(ctx, db, o)
	if err != nil {
		return nil, nil, err
	}
	if !o.skipMigrate {
		if err := migrate(ctx, app, db); err != nil {
			return nil, nil, err
		}
	}
	return app, app.NewEcho(), nil
}

// migrate creates what is missing of the schema and seeds the demo users.
func migrate(ctx context.Context, app *framework.App, db *bun.DB) error {
	if err := app.Migrate(ctx); err != nil {
		return err
	}
	if err := seed(ctx, db); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	return nil
}

// seed inserts the users behind the demo tokens into an empty database.
func seed(ctx context.Context, db *bun.DB) error {
	n, err := db.NewSelect().Model((*User)(nil)).Count(ctx)
	if err != nil || n > 0 {
		return err
	}
	// The keys come from the database, in order: a PostgreSQL sequence
	// does not follow explicit keys, and a later create would collide.
	users := []User{
		{Name: "Admin", Email: "admin@example.com"},
		{Name: "Alice", Email: "alice@example.com"},
		{Name: "Bob", Email: "bob@example.com"},
	}
	now := time.Now().UTC()
	for i := range users {
		users[i].CreatedAt, users[i].UpdatedAt = now, now
	}
	if _, err := db.NewInsert().Model(&users).Value("deleted_at", "NULL").Returning("id").Exec(ctx); err != nil {
		return err
	}
	for i, u := range users {
		if u.ID != int64(i+1) {
			return fmt.Errorf("seed: the demo users got ids %d, %d, %d; the demo tokens need 1, 2, 3 (start from an empty database)", users[0].ID, users[1].ID, users[2].ID)
		}
	}
	return nil
}

// dbPolicy keeps the policy in the database's casbin_rules table, seeded
// from the embedded policy while the table is empty.
func dbPolicy(ctx context.Context, db *bun.DB) (*auth.BunAdapter, error) {
	adapter, err := auth.NewBunAdapter(ctx, db)
	if err != nil {
		return nil, err
	}
	empty, err := adapter.Empty(ctx)
	if err != nil || !empty {
		return adapter, err
	}
	m, err := model.NewModelFromString(auth.DefaultModel)
	if err != nil {
		return nil, err
	}
	if err := stringadapter.NewAdapter(defaultPolicy).LoadPolicy(m); err != nil {
		return nil, err
	}
	return adapter, adapter.SavePolicyCtx(ctx, m)
}
