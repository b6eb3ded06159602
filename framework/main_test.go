package framework_test

import (
	"testing"

	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestMain runs the suite on SQLite, and on PostgreSQL too when
// AUTOAPI_TEST_POSTGRES holds a DSN.
func TestMain(m *testing.M) { dbtest.Main(m) }
