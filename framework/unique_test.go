package framework_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// Member is unique by email among live rows, and by (team, badge) as a
// group.
type Member struct {
	bun.BaseModel `bun:"table:members"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	Email     string     `bun:"email,notnull" json:"email" autoapi:"unique"`
	Team      string     `bun:"team,notnull" json:"team" autoapi:"unique:badge"`
	Badge     int64      `bun:"badge,notnull" json:"badge" autoapi:"unique:badge"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

// Sticker has no soft-delete column: its unique index is table-wide.
type Sticker struct {
	bun.BaseModel `bun:"table:stickers"`

	ID   int64  `bun:"id,pk,autoincrement" json:"id"`
	Name string `bun:"name,notnull" json:"name" autoapi:"unique"`
}

func TestUniqueAmongLiveRows(t *testing.T) {
	h := buildApp(t, appSpec{models: []func(*framework.App) error{registered[Member](), registered[Sticker]()}})
	db := h.DB
	playSteps(t, h, []step{
		{"first", adminToken, "POST", "/api/members", `{"email":"a@x.io","team":"red","badge":1}`, 201, `"id":1`, ""},
		{"same badge, other team", adminToken, "POST", "/api/members", `{"email":"b@x.io","team":"blue","badge":1}`, 201, `"id":2`, ""},
		// Failed inserts after the keyed ones: on PostgreSQL each uses up
		// a key.
		{"same email while live", adminToken, "POST", "/api/members", `{"email":"a@x.io","team":"red","badge":2}`, 409, fieldErr("email"), ""},
		{"same badge group", adminToken, "POST", "/api/members", `{"email":"c@x.io","team":"blue","badge":1}`, 409, `"status":409`, ""},
		{"patch into a collision", adminToken, "PATCH", "/api/members/2", `{"email":"a@x.io"}`, 409, fieldErr("email"), ""},
		{"delete the first", adminToken, "DELETE", "/api/members/1", "", 200, `"softDeleted":true`, ""},
		{"the email is free again", adminToken, "POST", "/api/members", `{"email":"a@x.io","team":"green","badge":9}`, 201, `"team":"green"`, ""},
		{"restoring the first collides", adminToken, "POST", "/api/members/1/restore", "", 409, fieldErr("email"), ""},
		{"and it stays deleted", adminToken, "GET", "/api/members/1", "", 200, `"deletedAt":"`, ""},
		{"free the email again", adminToken, "DELETE", "/api/members?team=green", "", 200, `"count":1`, ""},
		{"now the restore succeeds", adminToken, "POST", "/api/members/1/restore", "", 200, `"restored":true`, ""},
		{"stickers are unique table-wide", adminToken, "POST", "/api/stickers", `{"name":"go"}`, 201, "", ""},
		{"sticker collision", adminToken, "POST", "/api/stickers", `{"name":"go"}`, 409, fieldErr("name"), ""},
		{"deleting a sticker frees it for good", adminToken, "DELETE", "/api/stickers/1", "", 200, "", ""},
		{"sticker name again", adminToken, "POST", "/api/stickers", `{"name":"go"}`, 201, "", ""},
	})
	if rows, deleted := rowCount(t, db, "members", "deleted_at", 1); rows != 1 || deleted != 0 {
		t.Fatalf("member 1: rows %d deleted %d", rows, deleted)
	}
	rec := h.Do(t, request{Token: adminToken, Method: http.MethodGet, URL: "/api/members?includeDeleted=true&count=true"})
	if !strings.Contains(rec.Body.String(), `"total":3`) {
		t.Fatalf("members: %s", rec.Body.String())
	}
}

func TestUnknownAutoapiTagOption(t *testing.T) {
	type Bad struct {
		bun.BaseModel `bun:"table:bads"`
		ID            int64  `bun:"id,pk,autoincrement"`
		Name          string `bun:"name" autoapi:"uniq"`
	}
	app, err := framework.New(baseConfig(dbtest.Open(t)))
	if err != nil {
		t.Fatal(err)
	}
	err = framework.Register[Bad](app)
	if err == nil || !strings.Contains(err.Error(), "Bad") || !strings.Contains(err.Error(), "Name") || !strings.Contains(err.Error(), "uniq") {
		t.Fatalf("error %v", err)
	}
}
