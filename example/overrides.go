package main

import (
	"database/sql"
	"errors"
	"net/http"
	"strconv"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
)

// deleteAttachmentPermanently replaces the soft delete of attachments with
// a real DELETE: files are not kept once their owner removes them.
func deleteAttachmentPermanently(c *framework.Context) error {
	if err := c.Require(auth.ActionDelete); err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.ID(), 10, 64)
	if err != nil {
		return c.NotFound(c.ID())
	}
	res, err := c.DB().NewDelete().Model((*Attachment)(nil)).Where("id = ?", id).ForceDelete().Exec(c.Request().Context())
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return c.NotFound(c.ID())
	}
	return c.JSON(http.StatusOK, map[string]any{"success": true, "hardDeleted": true})
}

// restorePostOwnerOrRestorer lets the author of a post restore it, as well
// as anyone the policy allows to restore posts. Everyone else gets 403,
// whether or not the post exists.
func restorePostOwnerOrRestorer(c *framework.Context) error {
	if c.Can(auth.ActionRestore) {
		return c.Default()
	}
	if c.Principal().Anonymous() {
		return c.Deny(auth.ActionRestore)
	}
	id, err := strconv.ParseInt(c.ID(), 10, 64)
	if err != nil {
		return c.Deny(auth.ActionRestore)
	}
	var post Post
	err = c.DB().NewSelect().Model(&post).Column("user_id").WhereAllWithDeleted().
		Where("id = ?", id).Scan(c.Request().Context())
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return c.Deny(auth.ActionRestore)
	case err != nil:
		return err
	case strconv.FormatInt(post.UserID, 10) != c.Principal().ID:
		return c.Deny(auth.ActionRestore)
	}
	// The caller owns the post: let the generated restore run for them.
	c.Grant(auth.ActionRestore)
	return c.Default()
}
