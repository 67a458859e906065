package bbs_test

import (
	"testing"

	"github.com/diegolab/diegolab/model/bbs"
	"github.com/diegolab/diegolab/model/bbs/bbstest"
)

func TestMemStore(t *testing.T) {
	bbstest.RunStoreSuite(t, func(*testing.T) bbs.Store { return bbs.NewMemStore() })
}
