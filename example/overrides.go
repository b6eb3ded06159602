package main

import (
	"net/http"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/framework"
)

// deleteAttachmentPermanently replaces the soft delete of attachments with
// a real DELETE: files are not kept once their owner removes them. It
// asks the Context what the generated delete would: the query string (none
// taken), the caller's reach (a live row within their grant) and the
// canonical key, so a deleted attachment is as missing to it as to a GET.
//
// DELETE ?permanent=true is left to the generated handler, which removes
// a live or soft-deleted attachment for a caller holding hard_delete.
func deleteAttachmentPermanently(c *framework.Context) error {
	params, err := c.Query("permanent")
	if err != nil {
		return err
	}
	if params.Has("permanent") {
		return c.Default()
	}
	reach, err := c.Reach(auth.ActionDelete)
	if err != nil {
		return err
	}
	id, err := c.Key()
	if err != nil {
		return err
	}
	res, err := c.DB().NewDelete().Model((*Attachment)(nil)).ApplyQueryBuilder(reach).
		Where("id = ?", id).ForceDelete().Exec(c.Request().Context())
	if err != nil {
		return c.DBError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return c.NotFound(c.ID())
	}
	return c.JSON(http.StatusOK, attachmentDeleted{Success: true, HardDeleted: true})
}

// attachmentDeleted is the answer of an attachment's permanent delete,
// declared to the OpenAPI document with framework.Responds.
type attachmentDeleted struct {
	Success     bool `json:"success"`
	SoftDeleted bool `json:"softDeleted"`
	HardDeleted bool `json:"hardDeleted"`
}

// attachmentsDeleted is the answer of a bulk delete of attachments: how
// many went.
type attachmentsDeleted struct {
	attachmentDeleted
	Count int64 `json:"count"`
}

// deleteAttachmentsPermanently does the same for DELETE /api/attachments
// with filters: every live attachment they match, within the caller's
// reach, goes for good.
func deleteAttachmentsPermanently(c *framework.Context) error {
	matching, err := c.Matching(auth.ActionDelete)
	if err != nil {
		return err
	}
	res, err := c.DB().NewDelete().Model((*Attachment)(nil)).ApplyQueryBuilder(matching).
		ForceDelete().Exec(c.Request().Context())
	if err != nil {
		return c.DBError(err)
	}
	n, _ := res.RowsAffected()
	return c.JSON(http.StatusOK, attachmentsDeleted{attachmentDeleted{Success: true, HardDeleted: true}, n})
}
