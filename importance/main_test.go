package importance

import (
	"testing"

	"go.uber.org/goleak"
)

// FANOVA grows trees on goroutines that must all be gone when it returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
