package telephony_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: the simulated worker, HTTP connections and test servers included.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
