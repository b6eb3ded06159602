package main

import (
	"testing"

	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestMain runs the example's tests on SQLite, and on PostgreSQL too when
// AUTOAPI_TEST_POSTGRES holds a DSN.
func TestMain(m *testing.M) { dbtest.Main(m) }
