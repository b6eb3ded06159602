package framework_test

import (
	"context"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
)

// OPost is owned through UserID; OComment names its owner at
// registration instead of with a tag.
type OPost struct {
	bun.BaseModel `bun:"table:oposts"`

	ID        int64       `bun:"id,pk,autoincrement" json:"id"`
	UserID    int64       `bun:"user_id,notnull" json:"userId" autoapi:"owner"`
	Title     string      `bun:"title,notnull" json:"title"`
	Comments  []*OComment `bun:"rel:has-many,join:id=post_id" json:"comments,omitempty"`
	DeletedAt *time.Time  `bun:"deleted_at" json:"deletedAt"`
}

type OComment struct {
	bun.BaseModel `bun:"table:ocomments"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	PostID    int64      `bun:"post_id,notnull" json:"postId"`
	UserID    int64      `bun:"user_id,notnull" json:"userId"`
	Body      string     `bun:"body,notnull" json:"body"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

// ownerTokens are the principals of the ownership tests.
var ownerTokens = auth.StaticTokens{
	"admin": {ID: "1", Roles: []string{"admin"}},
	"u2":    {ID: "2", Roles: []string{"user"}},
	"u3":    {ID: "3", Roles: []string{"user"}},
}

const ownerPolicy = `
p, admin, *, *
p, user, oposts, read
p, user, oposts, create:own
p, user, oposts, update:own
p, user, oposts, delete:own
p, user, oposts, read_deleted:own
p, user, oposts, restore:own
p, user, ocomments, read:own
p, user, ocomments, create:own
`

// TestOwnership walks two users and an admin through own-only grants:
// every operation is limited in SQL, so someone else's row answers exactly
// like a missing one, and totals count only what the caller may see.
func TestOwnership(t *testing.T) {
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) {
			cfg.Policy = ownerPolicy
			cfg.Authenticator = ownerTokens
		},
		models: []func(*framework.App) error{registered[OPost](), registered[OComment](framework.Owner("userId"))},
	})
	playSteps(t, h, []step{
		{"the owner is stamped", "u2", "POST", "/api/oposts", `{"title":"a"}`, 201, `"userId":2`, ""},
		{"naming yourself is fine", "u2", "POST", "/api/oposts", `{"title":"x","userId":2}`, 201, `"userId":2`, ""},
		{"no posts in someone else's name", "u2", "POST", "/api/oposts", `{"title":"b","userId":3}`, 403, "userId must be 2", ""},
		{"the admin may", "admin", "POST", "/api/oposts", `{"title":"b","userId":3}`, 201, `"userId":3`, ""},
		{"u3's own", "u3", "POST", "/api/oposts", `{"title":"c"}`, 201, `"userId":3`, ""},
		{"everyone reads every live post", "u2", "GET", "/api/oposts", "", 200, `"total":4`, ""},
		{"someone else's post is not found for update", "u2", "PATCH", "/api/oposts/3", `{"title":"mine now"}`, 404, "oposts 3 not found", ""},
		{"an own post updates", "u2", "PATCH", "/api/oposts/1", `{"title":"a2"}`, 200, `"a2"`, ""},
		{"and cannot be given away", "u2", "PATCH", "/api/oposts/1", `{"userId":3}`, 403, "", ""},
		{"someone else's post is not found for delete", "u2", "DELETE", "/api/oposts/3", "", 404, "", ""},
		{"an own post deletes", "u2", "DELETE", "/api/oposts/1", "", 200, `"softDeleted":true`, ""},
		{"u3 deletes theirs", "u3", "DELETE", "/api/oposts/4", "", 200, "", ""},
		{"a personal trash bin", "u2", "GET", "/api/oposts?onlyDeleted=true", "", 200, `"total":1`, `"title":"c"`},
		{"own deleted rows and every live one", "u2", "GET", "/api/oposts?includeDeleted=true&fields=id", "", 200, `{"data":[{"id":1},{"id":2},{"id":3}],"meta":{"total":3`, ""},
		{"someone else's deleted post is not found", "u2", "GET", "/api/oposts/4", "", 404, "", ""},
		{"an own deleted post is", "u2", "GET", "/api/oposts/1", "", 200, `"deletedAt":"`, ""},
		{"a deleted post of someone else cannot be restored", "u2", "POST", "/api/oposts/4/restore", "", 404, "", ""},
		{"an own one can", "u2", "POST", "/api/oposts/1/restore", "", 200, `"restored":true`, ""},
		{"a live own one is a conflict", "u2", "POST", "/api/oposts/1/restore", "", 409, "", ""},
		{"the admin sees everything", "admin", "GET", "/api/oposts?includeDeleted=true", "", 200, `"total":4`, ""},
		{"u2 comments", "u2", "POST", "/api/ocomments", `{"postId":3,"body":"from u2"}`, 201, `"userId":2`, ""},
		{"u3 comments", "u3", "POST", "/api/ocomments", `{"postId":3,"body":"from u3"}`, 201, `"userId":3`, ""},
		{"comments are read own only", "u2", "GET", "/api/ocomments", "", 200, `"total":1`, "from u3"},
		{"someone else's comment is not found", "u2", "GET", "/api/ocomments/2", "", 404, "", ""},
		{"includes respect it", "u2", "GET", "/api/oposts/3?include=comments", "", 200, "from u2", "from u3"},
		{"the grants, as a UI sees them", "u2", "GET", "/api/oposts/permissions", "", 200,
			`{"data":{"create":"own","delete":"own","read":"all","read_deleted":"own","restore":"own","update":"own"}}`, ""},
		{"bulk deletes stay within one's own rows", "u2", "DELETE", "/api/oposts?title%5Blike%5D=*", "", 200, `"count":2`, ""},
		{"u3's posts are untouched", "u3", "GET", "/api/oposts", "", 200, `"total":1`, ""},
		{"anonymous callers own nothing", "", "GET", "/api/oposts", "", 401, "", ""},
	})
}

// TestAllowsSeesOwnOnlyGrants: an override can tell an own-only grant from
// none, which Can, asking about the action as named, cannot.
func TestAllowsSeesOwnOnlyGrants(t *testing.T) {
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) {
			cfg.Policy = ownerPolicy
			cfg.Authenticator = ownerTokens
		},
		models: []func(*framework.App) error{registered[OPost]()},
		setup: func(app *framework.App) error {
			return app.Override("oposts", framework.OpList, func(c *framework.Context) error {
				return c.JSON(200, map[string]any{"update": c.Allows(auth.ActionUpdate), "hard": c.Allows(auth.ActionHardDelete), "can": c.Can(auth.ActionUpdate)})
			})
		},
	})
	playSteps(t, h, []step{
		{"own-only", "u2", "GET", "/api/oposts", "", 200, `{"can":false,"hard":"","update":"own"}`, ""},
		{"everything", "admin", "GET", "/api/oposts", "", 200, `{"can":true,"hard":"all","update":"all"}`, ""},
	})
}

// TestOverrideResponses: Record writes a model the way generated routes
// do (deletion fields only for callers allowed read_deleted), and Problem
// is problem+json.
func TestOverrideResponses(t *testing.T) {
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) {
			cfg.Policy = ownerPolicy
			cfg.Authenticator = ownerTokens
		},
		models: []func(*framework.App) error{registered[OPost]()},
		setup: func(app *framework.App) error {
			return app.Override("oposts", framework.OpGet, func(c *framework.Context) error {
				if c.ID() == "teapot" {
					return c.Problem(418, "short and stout")
				}
				return c.Record(200, &OPost{ID: 7, UserID: 9, Title: "made up"}, framework.Member{Key: "extra", Value: 1})
			})
		},
	})
	playSteps(t, h, []step{
		{"a record for a user", "u2", "GET", "/api/oposts/7", "", 200, `{"data":{"id":7,"userId":9,"title":"made up","deletedAt":null},"extra":1}`, ""},
		{"a record for the admin", "admin", "GET", "/api/oposts/7", "", 200, `"deletedAt":null`, ""},
		{"a problem", "u2", "GET", "/api/oposts/teapot", "", 418, `"detail":"short and stout"`, ""},
	})
}

// OThread is owned and cascades to its replies, which belong to it.
type OThread struct {
	bun.BaseModel `bun:"table:othreads"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	UserID    int64      `bun:"user_id,notnull" json:"userId" autoapi:"owner"`
	Replies   []*OReply  `bun:"rel:has-many,join:id=thread_id" json:"replies,omitempty" autoapi:"cascade"`
	Title     string     `bun:"title,notnull" json:"title"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

type OReply struct {
	bun.BaseModel `bun:"table:oreplies"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	ThreadID  int64      `bun:"thread_id,notnull" json:"threadId"`
	Thread    *OThread   `bun:"rel:belongs-to,join:thread_id=id" json:"thread,omitempty"`
	Body      string     `bun:"body,notnull" json:"body"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

// TestOwnershipReachesEverythingAnOperationTouches: cascades, hooks and
// parent checks stay within the caller's rows too.
func TestOwnershipReachesEverythingAnOperationTouches(t *testing.T) {
	var hooked []any
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) {
			cfg.Policy = `
p, user, othreads, read:own
p, user, othreads, create:own
p, user, othreads, update:own
p, user, othreads, hard_delete:own
p, user, oreplies, read
p, user, oreplies, create
`
			cfg.Authenticator = ownerTokens
		},
		models: []func(*framework.App) error{registered[OThread](), registered[OReply]()},
		setup: func(app *framework.App) error {
			return framework.SetHooks(app, framework.Hooks[OThread]{
				BeforeUpdate: func(ctx context.Context, ev *framework.Event, id any, changes *OThread, fields []string) error {
					hooked = append(hooked, id)
					return nil
				},
			})
		},
	})
	playSteps(t, h, []step{
		{"u3's thread", "u3", "POST", "/api/othreads", `{"title":"t3"}`, 201, `"id":1`, ""},
		{"u3's reply", "u3", "POST", "/api/oreplies", `{"threadId":1,"body":"r3"}`, 201, "", ""},
		{"u2 may not reply on a thread out of reach", "u2", "POST", "/api/oreplies", `{"threadId":1,"body":"r2"}`, 422, fieldErr("threadId"), ""},
		{"u2 erasing u3's thread is not found", "u2", "DELETE", "/api/othreads/1?permanent=true", "", 404, "", ""},
		{"and took nothing with it", "u3", "GET", "/api/oreplies", "", 200, `"total":1`, ""},
		{"u2 patching u3's thread is not found", "u2", "PATCH", "/api/othreads/1", `{"title":"mine"}`, 404, "", ""},
		{"u3 erases their own", "u3", "DELETE", "/api/othreads/1?permanent=true", "", 200, `"hardDeleted":true`, ""},
		{"with its replies", "u3", "GET", "/api/oreplies", "", 200, `"total":0`, ""},
	})
	if len(hooked) != 0 {
		t.Fatalf("a before-update hook ran for someone else's row: %v", hooked)
	}
}

// TestOwnerIDsAreCanonical: only the canonical spelling of an id owns a
// row or is recorded as its deleter; "02", "+2" and "0002" are not 2,
// as they are not in a path.
func TestOwnerIDsAreCanonical(t *testing.T) {
	principals := auth.StaticTokens{"u2": {ID: "2", Roles: []string{"user"}}}
	for _, id := range []string{"02", "+2", "0002", " 2", "2.0"} {
		principals["as "+id] = auth.Principal{ID: id, Roles: []string{"user"}}
	}
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) {
			cfg.Policy = ownerPolicy + "p, user, receipts, *\n"
			cfg.Authenticator = principals
		},
		models: []func(*framework.App) error{registered[OPost](), registered[Receipt]()},
	})
	steps := []step{
		{"u2 posts", "u2", "POST", "/api/oposts", `{"title":"alice's"}`, 201, `"userId":2`, ""},
		{"and deletes it", "u2", "DELETE", "/api/oposts/1", "", 200, "", ""},
		{"u2 writes a receipt", "u2", "POST", "/api/receipts", `{"name":"r"}`, 201, "", ""},
	}
	for _, id := range []string{"02", "+2", "0002", " 2", "2.0"} {
		who := "as " + id
		steps = append(steps,
			step{who + " has no trash of 2's", who, "GET", "/api/oposts?onlyDeleted=true", "", 403, "", "alice's"},
			step{who + " cannot read 2's deleted post", who, "GET", "/api/oposts/1", "", 404, "", "alice's"},
			step{who + " cannot restore it", who, "POST", "/api/oposts/1/restore", "", 403, "", ""},
			step{who + " creates nothing in 2's name", who, "POST", "/api/oposts", `{"title":"x","userId":2}`, 403, "", ""},
		)
	}
	steps = append(steps,
		step{"a deleter with a non-canonical id", "as 02", "DELETE", "/api/receipts/1", "", 200, "", ""},
		step{"is not recorded as 2", "u2", "GET", "/api/receipts/1?includeDeleted=true", "", 200, `"deletedBy":null`, `"deletedBy":2`},
	)
	playSteps(t, h, steps)
}

// NarrowOwned has an owner column narrower than 64 bits.
type NarrowOwned struct {
	bun.BaseModel `bun:"table:narrow_owned"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	OwnerID   int32      `bun:"owner_id,notnull" json:"ownerId" autoapi:"owner"`
	DeletedAt *time.Time `bun:"deleted_at" json:"deletedAt"`
}

// TestOwnerIDsFitTheColumn: an id the owner column cannot hold owns
// nothing, rather than the id it would wrap to.
func TestOwnerIDsFitTheColumn(t *testing.T) {
	h := buildApp(t, appSpec{
		config: func(cfg *framework.Config) {
			cfg.Policy = "p, user, narrow_owned, read:own\np, user, narrow_owned, create:own\np, user, narrow_owned, delete:own\n"
			cfg.Authenticator = auth.StaticTokens{
				"wide": {ID: "4294967297", Roles: []string{"user"}}, // 2^32 + 1
				"one":  {ID: "1", Roles: []string{"user"}},
			}
		},
		models: []func(*framework.App) error{registered[NarrowOwned]()},
	})
	playSteps(t, h, []step{
		{"one writes", "one", "POST", "/api/narrow_owned", `{}`, 201, `"ownerId":1`, ""},
		{"too wide an id owns nothing", "wide", "POST", "/api/narrow_owned", `{}`, 403, "", ""},
		{"and reads nothing of one's", "wide", "GET", "/api/narrow_owned", "", 403, "", ""},
	})
}
