package main

import (
	"database/sql"
	"time"

	"github.com/uptrace/bun"
)

// The example's models each show one convention. Soft-delete columns use
// every supported Go type, with and without bun's own soft_delete tag; the
// API behaves the same for all of them.

// User is soft-deleted through DeletedAt (JSON deletedAt), a plain time.Time
// whose zero value means "live" and is stored as NULL.
type User struct {
	bun.BaseModel `bun:"table:users"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	Name      string    `bun:"name,notnull" json:"name" validate:"required,max=100"`
	Email     string    `bun:"email,notnull" json:"email" validate:"required,email" autoapi:"unique"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"createdAt"`
	UpdatedAt time.Time `bun:"updated_at,notnull" json:"updatedAt"`
	DeletedAt time.Time `bun:"deleted_at" json:"deletedAt"`
}

// Post belongs to a user, its owner. Its DeletedAt carries bun's
// soft_delete tag.
type Post struct {
	bun.BaseModel `bun:"table:posts"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	UserID    int64      `bun:"user_id,notnull" json:"userId" autoapi:"owner"`
	User      *User      `bun:"rel:belongs-to,join:user_id=id" json:"user,omitempty"`
	Comments  []*Comment `bun:"rel:has-many,join:id=post_id" json:"comments,omitempty" autoapi:"cascade"`
	Title     string     `bun:"title,notnull" json:"title" validate:"required,max=200" autoapi:"search"`
	Content   string     `bun:"content,notnull" json:"content"`
	Views     int64      `bun:"views,notnull,default:0" json:"views"`
	CreatedAt time.Time  `bun:"created_at,notnull" json:"createdAt"`
	UpdatedAt time.Time  `bun:"updated_at,notnull" json:"updatedAt"`
	DeletedAt *time.Time `bun:"deleted_at,soft_delete,nullzero" json:"deletedAt"`
}

// Comment uses deleted_at as both its column and its JSON name. Its owner
// is stamped from the caller on create.
type Comment struct {
	bun.BaseModel `bun:"table:comments"`

	ID        int64        `bun:"id,pk,autoincrement" json:"id"`
	PostID    int64        `bun:"post_id,notnull" json:"postId"`
	Post      *Post        `bun:"rel:belongs-to,join:post_id=id" json:"post,omitempty"`
	UserID    int64        `bun:"user_id,notnull" json:"userId" autoapi:"owner"`
	User      *User        `bun:"rel:belongs-to,join:user_id=id" json:"user,omitempty"`
	Body      string       `bun:"body,notnull" json:"body" validate:"required"`
	CreatedAt time.Time    `bun:"created_at,notnull" json:"createdAt"`
	DeletedAt bun.NullTime `bun:"deleted_at" json:"deleted_at"`
}

// Invoice is kept for regulatory reasons: soft-deleted through DeletedDate.
type Invoice struct {
	bun.BaseModel `bun:"table:invoices"`

	ID          int64        `bun:"id,pk,autoincrement" json:"id"`
	Number      string       `bun:"number,notnull" json:"number" autoapi:"unique"`
	Amount      int64        `bun:"amount,notnull" json:"amount"`
	UserID      int64        `bun:"user_id,notnull" json:"userId" autoapi:"owner"`
	User        *User        `bun:"rel:belongs-to,join:user_id=id" json:"user,omitempty"`
	CreatedAt   time.Time    `bun:"created_at,notnull" json:"createdAt"`
	DeletedDate sql.NullTime `bun:"deleted_date" json:"deletedDate"`
	// DeletedBy records who deleted the invoice; shown like deletedDate.
	DeletedBy *int64 `bun:"deleted_by" json:"deletedBy"`
}

// Tag has no soft-delete column: DELETE removes the row.
type Tag struct {
	bun.BaseModel `bun:"table:tags"`

	ID   int64  `bun:"id,pk,autoincrement" json:"id"`
	Name string `bun:"name,notnull,unique" json:"name"`
}

// Attachment has a soft-delete column, but its DELETE is overridden to
// remove the row for good (see overrides.go).
type Attachment struct {
	bun.BaseModel `bun:"table:attachments"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	PostID    int64     `bun:"post_id,notnull" json:"postId"`
	Post      *Post     `bun:"rel:belongs-to,join:post_id=id" json:"post,omitempty"`
	Filename  string    `bun:"filename,notnull" json:"filename"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"createdAt"`
	DeletedAt time.Time `bun:"deleted_at,soft_delete,nullzero" json:"deletedAt"`
	// StoragePath is internal: never shown, never settable.
	StoragePath string `bun:"storage_path" json:"-"`
}

// Page is named by a slug the client chooses: PUT /api/pages/:slug creates
// or replaces it.
type Page struct {
	bun.BaseModel `bun:"table:pages"`

	Slug      string     `bun:"slug,pk" json:"slug"`
	Title     string     `bun:"title,notnull" json:"title" validate:"required,max=200"`
	Body      string     `bun:"body,notnull" json:"body"`
	UpdatedAt time.Time  `bun:"updated_at,notnull" json:"updatedAt"`
	DeletedAt *time.Time `bun:"deleted_at,soft_delete,nullzero" json:"deletedAt"`
}
