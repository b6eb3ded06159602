package main

import (
	"testing"

	"github.com/autoapi-go/autoapi/internal/apitest"
)

// TestMain runs the example's tests on SQLite, and on PostgreSQL too when
// AUTOAPI_TEST_POSTGRES holds a DSN (see apitest.Main).
func TestMain(m *testing.M) { apitest.Main(m) }
