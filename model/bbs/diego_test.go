package bbs_test

import (
	"testing"

	"github.com/diegolab/diegolab/model"
	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/bbs/bbstest"
)

// TestDiegoSuite runs the cases ported from Diego's BBS tests (bbstest/testdata/diego)
// against the in-memory store, with its own process ids and with shared ones.
func TestDiegoSuite(t *testing.T) {
	t.Run("own ids", func(t *testing.T) {
		bbstest.RunDiegoSuite(t, func(*testing.T) bbs.Store { return bbs.NewMemStore() })
	})
	t.Run("shared ids", func(t *testing.T) {
		bbstest.RunDiegoSuite(t, func(*testing.T) bbs.Store {
			s := bbs.NewMemStore()
			s.UseGUIDs(model.NewGUIDs())
			return s
		})
	})
}
