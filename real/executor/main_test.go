package executor

import (
	"os"
	"testing"
)

// TestMain lets this test binary serve as the port proxy its containers' mappings
// run in (Config.ProxyBinary defaults to the running executable).
func TestMain(m *testing.M) {
	MaybePortProxy(os.Args)
	os.Exit(m.Run())
}
