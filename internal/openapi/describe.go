package openapi

import (
	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/handlers"
)

// describe is the description of s's operation: what it does, in more
// words than its summary, as the reader may use it. It speaks of
// soft-deleted records only to a reader who may see them, and of a
// permanent delete only to one who may do it, as the document leaves
// out their parameters for the others.
func (b *builder) describe(s *handlers.Spec) string {
	var d string
	r := s.Resource
	if r == nil {
		switch s.Op {
		case handlers.OpAllPermissions:
			d = "The caller's actions on each resource, by resource name, each with its reach: every record, or only the caller's own."
		case handlers.OpBatch:
			d = "Runs the operations in order, in one transaction, each exactly as the request of the same operation alone would run: " +
				"the same authorization, ownership, hooks, cascades and If-Match. The answer holds each one's status and body. " +
				"If any fails, none is applied, and the answer is that operation's status and problem, naming it (operations[i]). " +
				"A create may name the record it makes (ref); later operations use {\"ref\": name} for its key, as id or as a value in a body."
		case handlers.OpPurge:
			d = "Removes for good the records soft-deleted longer ago than olderThan, in bounded batches, " +
				"from every soft-deletable resource on which the caller may hard_delete and read_deleted every record, or from the one resource named. " +
				"A record other records still refer to is kept and counted as kept. With dryRun=true it only counts."
		}
		return d
	}
	name := r.Name
	trash := b.seesDeleted(r)
	switch s.Op {
	case handlers.OpList:
		d = "Lists the records of " + name + " the caller may read, a page at a time. " +
			"Filters (one parameter per field and operator, or a filter expression) select them; " +
			"sort orders them; fields picks the members of each; limit with offset, page or cursor pages through them."
		if trash {
			d += " Soft-deleted records are left out unless includeDeleted or onlyDeleted asks for them."
		}
	case handlers.OpGet:
		d = "Returns the record of " + name + " with this key, if the caller may read it."
		if trash {
			d += " A soft-deleted record is found only with includeDeleted=true."
		}
	case handlers.OpCreate:
		d = "Creates a record of " + name + " from the body and answers with it. " +
			"The server sets the read-only fields: generated keys, timestamps, and the owner when the body leaves it out."
	case handlers.OpUpdate:
		d = "Sets the fields the body names, leaving the others as they are, and answers with the record. " +
			"Only a live record can be updated."
	case handlers.OpDelete:
		if r.SoftDeletable() {
			d = "Soft-deletes the record: it stays in the database, hidden from reads, until it is restored or purged."
		} else {
			d = "Deletes the record."
		}
		if b.allowed(r, auth.ActionHardDelete) {
			d += " With permanent=true the record, live or soft-deleted, is removed for good."
		}
	case handlers.OpBulkDelete:
		if r.SoftDeletable() {
			d = "Soft-deletes every live record of " + name + " the filters match, in one transaction."
		} else {
			d = "Deletes every record of " + name + " the filters match, in one transaction."
		}
		d += " At least one filter is needed, so that no request empties the table by accident."
	case handlers.OpRestore:
		d = "Makes a soft-deleted record live again and answers with it."
	case handlers.OpBulkRestore:
		d = "Makes every soft-deleted record of " + name + " the filters match live again, in one transaction. " +
			"At least one filter is needed."
	case handlers.OpRestoreDryRun, handlers.OpBulkRestoreDryRun, handlers.OpDeleteDryRun:
		previewed, fails, sees := "the restore of this record", "404, or 409 when the record is not deleted or restoring it would duplicate a unique value of a live record, naming the field", "soft-deleted records the caller may read_deleted"
		switch s.Op {
		case handlers.OpBulkRestoreDryRun:
			previewed, fails = "the bulk restore with these filters", "409 when restoring would duplicate a unique value of a live record, naming the field"
		case handlers.OpDeleteDryRun:
			previewed, fails, sees = "the DELETE of this record", "404", "live records the caller may read"
			if b.allowed(r, auth.ActionHardDelete) {
				previewed += " (with permanent=true, its permanent delete, which reaches the records the caller may read_deleted)"
				fails += ", or 409 when other records still refer to the record"
			}
		}
		d = "Runs " + previewed + " in a transaction that is then rolled back, " +
			"and answers with the records it would change, by resource: those it names first, then those its cascades reach. " +
			"It reaches only the " + sees + "; where it would fail it answers as the operation would: " + fails + ". " +
			"Keys are listed for resources whose every record, live and deleted, the caller may read; for the others, only counts."
	case handlers.OpUpsert:
		d = "Creates the record with this key (201), or replaces the one there (200): fields the body leaves out are cleared. " +
			"It runs as the create, or the update, would alone, with their permissions, in one transaction that locks the key. " +
			"If-None-Match: * creates only; If-Match replaces only a record with that ETag."
		if trash {
			d += " A soft-deleted record is a 409 unless restore=true restores it too (needs restore)."
		}
	case handlers.OpPermissions:
		d = "The actions the caller may perform on " + name + ", each with its reach: every record, or only the caller's own."
	}
	return d
}
