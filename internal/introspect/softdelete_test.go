package introspect_test

import (
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

type FlagOnly struct {
	ID        int64 `bun:"id,pk,autoincrement"`
	IsDeleted bool  `bun:"is_deleted" json:"isDeleted"`
}

type FlagAndTime struct {
	ID        int64        `bun:"id,pk,autoincrement"`
	Deleted   bool         `bun:"is_deleted" json:"is_deleted"`
	DeletedAt bun.NullTime `bun:"deleted_at" json:"deleted_at"`
}

type UnixTime struct {
	ID        int64 `bun:"id,pk,autoincrement"`
	DeletedAt int64 `bun:"deleted_at" json:"deletedAt"`
}

type TwoFlags struct {
	ID        int64 `bun:"id,pk,autoincrement"`
	IsDeleted bool  `bun:"deleted" json:"deleted"`
	Gone      bool  `bun:"is_deleted" json:"gone"`
}

type TextFlag struct {
	ID        int64  `bun:"id,pk,autoincrement"`
	IsDeleted string `bun:"is_deleted"`
}

type NullZeroUnix struct {
	ID        int64 `bun:"id,pk,autoincrement"`
	DeletedAt int64 `bun:"deleted_at,nullzero"`
}

type TaggedUnix struct {
	ID      int64 `bun:"id,pk,autoincrement"`
	Removed int64 `bun:"removed,soft_delete"`
}

// TestSoftDeleteStrategies checks which columns each convention makes the
// strategy, and the conditions it hands out.
func TestSoftDeleteStrategies(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name            string
		model           any
		at, flag        string // Go names, "" for none
		unix            bool
		live, deleted   string
		exposedToReader []string
	}{
		{"flag alone", (*FlagOnly)(nil), "", "IsDeleted", false, `? = FALSE`, `? = TRUE`, []string{"ID"}},
		{"flag beside a timestamp", (*FlagAndTime)(nil), "DeletedAt", "Deleted", false, `? = FALSE`, `? = TRUE`, []string{"ID"}},
		{"unix time", (*UnixTime)(nil), "DeletedAt", "", true, `? = 0`, `? <> 0`, []string{"ID"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := build(t, c.model, introspect.Options{})
			sd := res.SoftDelete
			if sd == nil {
				t.Fatal("no soft-delete strategy")
			}
			name := func(f *introspect.Field) string {
				if f == nil {
					return ""
				}
				return f.GoName
			}
			if name(sd.At) != c.at || name(sd.Flag) != c.flag || sd.Unix != c.unix {
				t.Errorf("strategy At %q Flag %q Unix %v, want %q %q %v", name(sd.At), name(sd.Flag), sd.Unix, c.at, c.flag, c.unix)
			}
			if live, _ := sd.Live(); live != c.live {
				t.Errorf("live %q, want %q", live, c.live)
			}
			if deleted, _ := sd.Deleted(); deleted != c.deleted {
				t.Errorf("deleted %q, want %q", deleted, c.deleted)
			}
			for _, f := range sd.Columns() {
				if !f.ReadOnly || !res.IsDeletionField(f) {
					t.Errorf("%s: writable or not a deletion field", f.GoName)
				}
				if _, ok := res.Lookup(f.JSON, false); ok {
					t.Errorf("%s visible without read_deleted", f.GoName)
				}
			}
			var got []string
			for _, f := range res.Exposed(false) {
				got = append(got, f.GoName)
			}
			if strings.Join(got, ",") != strings.Join(c.exposedToReader, ",") {
				t.Errorf("exposed without read_deleted: %v", got)
			}
		})
	}
}

// TestSoftDeleteStrategyErrors checks that an ambiguous or unsupported
// model is refused with an error naming the model and its fields.
func TestSoftDeleteStrategyErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		model any
		want  []string
	}{
		{"two flags", (*TwoFlags)(nil), []string{"TwoFlags", "IsDeleted", "Gone"}},
		{"text flag", (*TextFlag)(nil), []string{"TextFlag", "IsDeleted", "string", "bool"}},
		{"nullzero unix time", (*NullZeroUnix)(nil), []string{"NullZeroUnix", "DeletedAt", "nullzero"}},
		{"bun soft_delete tag on an integer", (*TaggedUnix)(nil), []string{"TaggedUnix", "Removed", "soft_delete"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := buildErr(t, c.model, introspect.Options{}); err == nil {
				t.Fatal("Build succeeded")
			} else {
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
			}
		})
	}
}
