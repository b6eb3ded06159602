package framework_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
)

// Memo has lifecycle hooks; AuditEntry is what they write.
type Memo struct {
	bun.BaseModel `bun:"table:memos"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Text      string     `bun:"text,notnull" json:"text"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

type AuditEntry struct {
	bun.BaseModel `bun:"table:audit_entries"`

	ID    int64  `bun:"id,pk,autoincrement" json:"id"`
	Event string `bun:"event,notnull" json:"event"`
}

func TestLifecycleHooks(t *testing.T) {
	ctx := context.Background()
	var (
		mu    sync.Mutex
		calls []string
	)
	record := func(ev *framework.Event, format string, args ...any) error {
		mu.Lock()
		calls = append(calls, fmt.Sprintf(format, args...))
		mu.Unlock()
		_, err := ev.DB.NewInsert().Model(&AuditEntry{Event: fmt.Sprintf(format, args...)}).Exec(ctx)
		return err
	}
	hooks := framework.Hooks[Memo]{
		BeforeCreate: func(ctx context.Context, ev *framework.Event, m *Memo) error {
			if strings.Contains(m.Text, "forbidden") {
				return framework.Refuse(http.StatusForbidden, "memos may not say that")
			}
			return record(ev, "before create %s by %s", m.Text, ev.Principal.ID)
		},
		AfterCreate: func(ctx context.Context, ev *framework.Event, m *Memo) error {
			if m.Text == "explode" {
				return errors.New("after-create failure")
			}
			return record(ev, "after create %d", m.ID)
		},
		BeforeUpdate: func(ctx context.Context, ev *framework.Event, id any, m *Memo, fields []string) error {
			return record(ev, "before update %v %v", id, fields)
		},
		BeforeDelete: func(ctx context.Context, ev *framework.Event, id any, permanent bool) error {
			if id == int64(3) {
				return framework.Refuse(http.StatusConflict, "memo 3 is pinned")
			}
			return record(ev, "before delete %v permanent=%v", id, permanent)
		},
		AfterUpdate: func(ctx context.Context, ev *framework.Event, m *Memo) error {
			if m.Text == "leak" {
				// Looks like a 403 with a message; a hook's own error must
				// still be an opaque 500.
				return &auth.Error{Status: http.StatusForbidden, Detail: "secret hook detail"}
			}
			return nil
		},
		AfterRestore: func(ctx context.Context, ev *framework.Event, id any) error {
			if id == int64(2) {
				return errors.New("after-restore failure")
			}
			return record(ev, "after restore %v", id)
		},
	}
	h := buildApp(t, appSpec{
		models: []func(*framework.App) error{registered[Memo](), registered[AuditEntry]()},
		setup: func(app *framework.App) error {
			if err := framework.SetHooks(app, hooks); err != nil {
				return err
			}
			// An override that calls Default runs the hooks too.
			return app.Override("memos", framework.OpGet, func(c *framework.Context) error { return c.Default() })
		},
	})
	db := h.DB
	playSteps(t, h, []step{
		{"create", userToken, "POST", "/api/memos", `{"text":"one"}`, 201, `"id":1`, ""},
		{"refused create", userToken, "POST", "/api/memos", `{"text":"forbidden words"}`, 403, "memos may not say that", ""},
		{"create two", userToken, "POST", "/api/memos", `{"text":"two"}`, 201, `"id":2`, ""},
		{"create three", userToken, "POST", "/api/memos", `{"text":"three"}`, 201, `"id":3`, ""},
		// Last of the creates: on PostgreSQL the rolled-back insert still
		// uses up a key.
		{"failing after-hook", userToken, "POST", "/api/memos", `{"text":"explode"}`, 500, "", ""},
		{"update", userToken, "PATCH", "/api/memos/1", `{"text":"uno"}`, 200, `"uno"`, ""},
		{"pinned memo refuses", userToken, "DELETE", "/api/memos/3", "", 409, "pinned", ""},
		{"a hook error is an opaque 500", userToken, "PATCH", "/api/memos/3", `{"text":"leak"}`, 500, "could not complete", ""},
		{"no hook for a missing row", userToken, "DELETE", "/api/memos/99", "", 404, "", ""},
		{"soft delete", userToken, "DELETE", "/api/memos/2", "", 200, "", ""},
		{"restore rolled back", adminToken, "POST", "/api/memos/2/restore", "", 500, "", ""},
		{"still deleted", adminToken, "GET", "/api/memos/2", "", 200, `"deletedAt":"`, ""},
		{"a bulk delete with a pinned memo aborts", userToken, "DELETE", "/api/memos?id%5Bgte%5D=1", "", 409, "pinned", ""},
		{"nothing was deleted", userToken, "GET", "/api/memos", "", 200, `"total":2`, ""},
		{"permanent delete", adminToken, "DELETE", "/api/memos/1?permanent=true", "", 200, `"hardDeleted":true`, ""},
	})
	mu.Lock()
	for _, c := range calls {
		if strings.Contains(c, "delete 99") {
			t.Errorf("a before-delete hook ran for a missing row: %q", calls)
		}
	}
	mu.Unlock()
	var texts []string
	if err := db.NewSelect().Model((*Memo)(nil)).Column("text").Order("id").Scan(ctx, &texts); err != nil {
		t.Fatal(err)
	}
	if strings.Join(texts, ",") != "two,three" {
		t.Fatalf("memos left: %v (the refused and the failed creates must leave nothing)", texts)
	}
	var audit []string
	if err := db.NewSelect().Model((*AuditEntry)(nil)).Column("event").Order("id").Scan(ctx, &audit); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"before create one by 2", "after create 1",
		"before create two by 2", "after create 2",
		"before create three by 2", "after create 3",
		"before update 1 [text]",
		// the "leak" update rolled back with its before-hook's audit row
		"before delete 2 permanent=false",
		"before delete 1 permanent=true",
	}
	if strings.Join(audit, "|") != strings.Join(want, "|") {
		t.Fatalf("audit rows (only committed operations):\n got %q\nwant %q", audit, want)
	}
}
