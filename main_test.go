package retune_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Tests that abandon objectives or observers on purpose let them finish before returning.
	goleak.VerifyTestMain(m)
}
