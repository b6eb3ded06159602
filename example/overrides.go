package main

import (
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
