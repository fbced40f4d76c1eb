package memory_test

import (
	"testing"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/storage/memory"
	"github.com/a6b40afc/retune/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Opener {
		s := memory.New()
		return func(t *testing.T) retune.Storage { return s }
	})
}
