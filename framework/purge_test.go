package framework_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// ReceiptLine refers to a receipt, so an old deleted receipt with lines
// cannot be purged before them.
type ReceiptLine struct {
	bun.BaseModel `bun:"table:receipt_lines"`

	ID        int64    `bun:"id,pk,autoincrement" json:"id"`
	ReceiptID int64    `bun:"receipt_id,notnull" json:"receiptId"`
	Receipt   *Receipt `bun:"rel:belongs-to,join:receipt_id=id" json:"receipt,omitempty"`
}

func TestPurge(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t)
	queries := &capturedQueries{}
	db.AddQueryHook(queries)
	app := buildApp(t, appSpec{db: db, models: []func(*framework.App) error{registered[Receipt](), registered[ReceiptLine]()}}).App
	old := time.Now().UTC().Add(-40 * 24 * time.Hour)
	recent := time.Now().UTC().Add(-24 * time.Hour)
	receipts := []Receipt{
		{Name: "live"},
		{Name: "old 1", DeletedAt: &old},
		{Name: "old 2", DeletedAt: &old},
		{Name: "old but referenced", DeletedAt: &old},
		{Name: "recent", DeletedAt: &recent},
		{Name: "old 3", DeletedAt: &old},
	}
	if _, err := db.NewInsert().Model(&receipts).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.NewInsert().Model(&ReceiptLine{ReceiptID: 4}).Exec(ctx); err != nil {
		t.Fatal(err)
	}

	opts := framework.PurgeOptions{OlderThan: 30 * 24 * time.Hour, DryRun: true}
	counts, err := app.Purge(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts[0].Resource != "receipts" || counts[0].Removed != 4 {
		t.Fatalf("dry run: %+v", counts)
	}
	if n, _ := db.NewSelect().Model((*Receipt)(nil)).Count(ctx); n != 6 {
		t.Fatalf("the dry run removed rows: %d left", n)
	}

	opts.DryRun, opts.BatchSize = false, 2
	counts, err = app.Purge(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if counts[0].Removed != 3 || counts[0].Kept != 1 {
		t.Fatalf("purge: %+v", counts)
	}
	var names []string
	if err := db.NewSelect().Model((*Receipt)(nil)).Column("name").Order("id").Scan(ctx, &names); err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "live,old but referenced,recent" {
		t.Fatalf("left: %v", names)
	}

	if _, err := app.Purge(ctx, framework.PurgeOptions{Resource: "receipt_lines"}); err == nil {
		t.Fatal("purging a resource without soft deletes should fail")
	}

	// The batch selection searches the soft-delete index.
	batch := queries.find(t, `IS NOT NULL AND "deleted_at" <`)
	if text := dbtest.Explain(t, db, batch); !text.UsesIndex("idx_receipts_deleted_at") {
		t.Fatalf("the purge does not use the soft-delete index: %s\nquery: %s", text, batch)
	}
}

func TestRunPurgesRejectsUnknownRetention(t *testing.T) {
	db := dbtest.Open(t)
	cfg := baseConfig(db)
	cfg.Retention = map[string]time.Duration{"nothing": time.Hour}
	app, err := framework.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.RunPurges(context.Background()); err == nil || !strings.Contains(err.Error(), "nothing") {
		t.Fatalf("error %v", err)
	}
}

func TestRunPurgesOnSchedule(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) { cfg.Retention = map[string]time.Duration{"receipts": time.Hour} },
		models: []func(*framework.App) error{registered[Receipt]()},
	})
	app, db := h.App, h.DB
	old := time.Now().UTC().Add(-2 * time.Hour)
	recent := time.Now().UTC().Add(-time.Minute)
	rows := []Receipt{{Name: "old", DeletedAt: &old}, {Name: "recent", DeletedAt: &recent}, {Name: "live"}}
	if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.RunPurges(ctx) }()
	// The first round runs at once; wait for it by polling the table, not
	// by sleeping a fixed time.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := db.NewSelect().Model((*Receipt)(nil)).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduled purge did not remove the old row: %d rows", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := db.NewSelect().Model((*Receipt)(nil)).Column("name").Order("id").Scan(context.Background(), &names); err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "recent,live" {
		t.Fatalf("left: %v", names)
	}
}
