package notify_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Dispatchers, NATS connections and HTTP servers all start goroutines: none may outlive
// the tests.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
