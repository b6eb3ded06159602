package framework_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
)

// TaskStatus is stored as an integer and spelled as a word in JSON.
type TaskStatus int

// Task statuses.
const (
	TaskActive   TaskStatus = 1
	TaskArchived TaskStatus = 2
)

func (s TaskStatus) MarshalJSON() ([]byte, error) {
	switch s {
	case TaskActive:
		return []byte(`"active"`), nil
	case TaskArchived:
		return []byte(`"archived"`), nil
	}
	return nil, fmt.Errorf("task status %d has no name", int(s))
}

func (s *TaskStatus) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"active"`:
		*s = TaskActive
	case `"archived"`:
		*s = TaskArchived
	default:
		return fmt.Errorf(`want "active" or "archived"`)
	}
	return nil
}

// JProject has many JTasks, to check that included records are written
// like the others.
type JProject struct {
	bun.BaseModel `bun:"table:jprojects"`

	ID    int64    `bun:"id,pk,autoincrement" json:"id"`
	Name  string   `bun:"name,notnull" json:"name"`
	Tasks []*JTask `bun:"rel:has-many,join:id=project_id" json:"tasks"`
}

// JTask has a field with JSON methods, a ",string" integer and omitted
// empty fields.
type JTask struct {
	bun.BaseModel `bun:"table:jtasks"`

	ID        int64      `bun:"id,pk,autoincrement" json:"id"`
	ProjectID int64      `bun:"project_id,notnull" json:"projectId"`
	Status    TaskStatus `bun:"status,notnull" json:"status"`
	Budget    int64      `bun:"budget,notnull" json:"budget,string"`
	Note      string     `bun:"note,notnull" json:"note,omitempty"`
	Priority  int64      `bun:"priority,notnull" json:"priority,omitempty"`
	Due       *time.Time `bun:"due" json:"due,omitempty"`
}

func TestBodiesFollowEncodingJSON(t *testing.T) {
	h := buildApp(t, appSpec{models: []func(*framework.App) error{registered[JProject](), registered[JTask]()}})
	created := `{"data":{"id":1,"projectId":1,"status":"active","budget":"1200"}}`
	updated := `{"id":1,"projectId":1,"status":"archived","budget":"-7","note":"n","priority":2,"due":"2026-01-02T03:04:05Z"}`
	playSteps(t, h, []step{
		{"project", adminToken, "POST", "/api/jprojects", `{"name":"p"}`, 201, "", ""},
		{"create with the status word", adminToken, "POST", "/api/jtasks", `{"projectId":1,"status":"active","budget":"1200"}`, 201, created, ""},
		{"read back", adminToken, "GET", "/api/jtasks/1", "", 200, created, ""},
		{"the status number is not its JSON form", adminToken, "POST", "/api/jtasks", `{"projectId":1,"status":1,"budget":"1"}`, 400, `"detail":"status: is not a valid value"`, ""},
		{"an unknown status word", adminToken, "POST", "/api/jtasks", `{"projectId":1,"status":"done","budget":"1"}`, 400, fieldErr("status"), ""},
		{",string wants a string", adminToken, "POST", "/api/jtasks", `{"projectId":1,"status":"active","budget":1200}`, 400, `"detail":"budget: must be a string holding an integer"`, ""},
		{",string wants an integer in it", adminToken, "POST", "/api/jtasks", `{"projectId":1,"status":"active","budget":"12.5"}`, 400, fieldErr("budget"), ""},
		{"update", adminToken, "PATCH", "/api/jtasks/1", `{"status":"archived","budget":"-7","note":"n","priority":2,"due":"2026-01-02T03:04:05Z"}`, 200, `{"data":` + updated + `}`, ""},
		{"list", adminToken, "GET", "/api/jtasks", "", 200, `"data":[` + updated + `]`, ""},
		{"included", adminToken, "GET", "/api/jprojects/1?include=tasks", "", 200, `"tasks":[` + updated + `]`, ""},
		{"empty again", adminToken, "PATCH", "/api/jtasks/1", `{"note":"","priority":0,"due":null}`, 200, `{"data":{"id":1,"projectId":1,"status":"archived","budget":"-7"}}`, ""},
	})

	// The database holds the Go values, not their JSON spelling.
	var status, budget int64
	if err := h.DB.NewSelect().Table("jtasks").Column("status", "budget").Where("id = 1").Scan(context.Background(), &status, &budget); err != nil {
		t.Fatal(err)
	}
	if status != int64(TaskArchived) || budget != -7 {
		t.Fatalf("stored status %d, budget %d", status, budget)
	}
}

// TestCursorOverJSONMethods walks cursor pages sorted by a field whose type
// writes itself as a word in JSON: the cursor keeps the stored number, so
// every page opens and the walk yields each task once, in order.
func TestCursorOverJSONMethods(t *testing.T) {
	h := buildApp(t, appSpec{models: []func(*framework.App) error{registered[JProject](), registered[JTask]()}})
	steps := []step{{"project", adminToken, "POST", "/api/jprojects", `{"name":"p"}`, 201, "", ""}}
	for i, status := range []string{"archived", "active", "archived", "active", "active"} {
		steps = append(steps, step{fmt.Sprintf("task %d", i+1), adminToken, "POST", "/api/jtasks",
			fmt.Sprintf(`{"projectId":1,"status":%q,"budget":"1"}`, status), 201, "", ""})
	}
	playSteps(t, h, steps)
	for _, c := range []struct {
		sort string
		want []int
	}{
		{"status,id", []int{2, 4, 5, 1, 3}},
		{"-status,-id", []int{3, 1, 5, 4, 2}},
	} {
		if got := walkCursorIDs(t, h, adminToken, "/api/jtasks?limit=2&sort="+c.sort, 2); !slices.Equal(got, c.want) {
			t.Errorf("sort=%s: walk %v, want %v", c.sort, got, c.want)
		}
	}
}
