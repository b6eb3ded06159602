package handlers

import (
	"context"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestClassifyRealErrors provokes each kind of failure on the engine under
// test and checks that it is read the same way on both: the kind, and the
// table and column the answer names.
func TestClassifyRealErrors(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t)
	for _, stmt := range []string{
		`CREATE TABLE parents (id INTEGER PRIMARY KEY)`,
		`CREATE TABLE kids (
			id INTEGER PRIMARY KEY,
			email VARCHAR(20) NOT NULL UNIQUE,
			parent_id INTEGER REFERENCES parents (id),
			qty INTEGER CHECK (qty > 0)
		)`,
		`INSERT INTO parents (id) VALUES (1)`,
		`INSERT INTO kids (id, email, parent_id, qty) VALUES (1, 'a@x.io', 1, 1)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	for _, c := range []struct {
		name, stmt    string
		kind          failureKind
		table, column string
	}{
		{"unique", `INSERT INTO kids (id, email) VALUES (2, 'a@x.io')`, failUnique, "kids", "email"},
		{"primary key", `INSERT INTO kids (id, email) VALUES (1, 'b@x.io')`, failUnique, "kids", "id"},
		{"not null", `INSERT INTO kids (id, email) VALUES (3, NULL)`, failNotNull, "kids", "email"},
		{"foreign key on write", `INSERT INTO kids (id, email, parent_id) VALUES (4, 'c@x.io', 9)`, failForeignKey, "", ""},
		{"foreign key on delete", `DELETE FROM parents WHERE id = 1`, failForeignKey, "", ""},
		{"check", `INSERT INTO kids (id, email, qty) VALUES (5, 'd@x.io', 0)`, failCheck, "", ""},
	} {
		_, err := db.ExecContext(ctx, c.stmt)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		f := classify(err)
		if f.kind != c.kind || (c.column != "" && (f.table != c.table || f.column != c.column)) {
			t.Errorf("%s: %v classified as %+v, want kind %d on %s.%s", c.name, err, f, c.kind, c.table, c.column)
		}
	}
}

// TestClassifyContention makes the database refuse a write because of
// another transaction (SQLite: busy; PostgreSQL: a serialization failure)
// and checks that both read as "retry".
func TestClassifyContention(t *testing.T) {
	ctx := context.Background()
	a, b := dbtest.OpenPair(t)
	if _, err := a.ExecContext(ctx, `CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExecContext(ctx, `INSERT INTO counters (id, n) VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	ca, err := a.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	cb, err := b.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	exec := func(c bun.Conn, stmt string) error {
		_, err := c.ExecContext(ctx, stmt)
		return err
	}
	var failed error
	if dbtest.Current() == dbtest.Postgres {
		// Two serializable transactions that both read and then write the
		// row: the second writer cannot be ordered after the first.
		for _, c := range []bun.Conn{ca, cb} {
			if err := exec(c, `BEGIN ISOLATION LEVEL SERIALIZABLE`); err != nil {
				t.Fatal(err)
			}
			if err := exec(c, `SELECT n FROM counters WHERE id = 1`); err != nil {
				t.Fatal(err)
			}
		}
		if err := exec(ca, `UPDATE counters SET n = n + 1 WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		if err := exec(ca, `COMMIT`); err != nil {
			t.Fatal(err)
		}
		failed = exec(cb, `UPDATE counters SET n = n + 1 WHERE id = 1`)
		_ = exec(cb, `ROLLBACK`)
	} else {
		// A writer holds the lock; the other connection does not wait.
		if err := exec(ca, `BEGIN IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
		if err := exec(cb, `PRAGMA busy_timeout = 0`); err != nil {
			t.Fatal(err)
		}
		failed = exec(cb, `UPDATE counters SET n = n + 1 WHERE id = 1`)
		_ = exec(ca, `ROLLBACK`)
	}
	if failed == nil {
		t.Fatal("the contended write succeeded")
	}
	if f := classify(failed); f.kind != failBusy {
		t.Fatalf("%v classified as %+v, want busy", failed, f)
	}
}
