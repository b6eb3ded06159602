package auth_test

import (
	"testing"

	"github.com/autoapi-go/autoapi/framework/dbtest"
)

// TestMain runs the suite on SQLite, and on PostgreSQL too when
// AUTOAPI_TEST_POSTGRES is set: the policy adapter's tests need both.
func TestMain(m *testing.M) { dbtest.Main(m) }
