package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/bench"
	"github.com/a6b40afc/retune/storage"
	"github.com/a6b40afc/retune/storage/sqlite"
)

func overhead(ctx context.Context, space, sampler string, n int, seed uint64) (bench.OverheadResult, error) {
	return bench.Overhead(ctx, space, sampler, n, seed)
}

func efficiency(ctx context.Context, problemName, sampler string, n, first, seeds int) (bench.EfficiencyResult, error) {
	return bench.EfficiencyFrom(ctx, problemName, sampler, n, first, seeds)
}

// storageRun opens a fresh database (a SQLite file is deleted first; PostgreSQL gets a new
// study per run) and measures throughput.
func storageRun(ctx context.Context, dsn, synchronous string, n, workers int) (bench.StorageResult, error) {
	kind, target, err := storage.Kind(dsn)
	if err != nil {
		return bench.StorageResult{}, err
	}
	var store retune.Storage
	label := kind
	switch kind {
	case "sqlite":
		for _, suffix := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(target + suffix)
		}
		o := sqlite.Options{}
		switch strings.ToUpper(synchronous) {
		case "", "NORMAL":
			label += "-normal"
		case "FULL":
			o.Synchronous = sqlite.SyncFull
			label += "-full"
		default:
			return bench.StorageResult{}, fmt.Errorf("-synchronous %q: want NORMAL or FULL", synchronous)
		}
		store, err = sqlite.OpenOptions(ctx, target, o)
	default:
		store, err = storage.Open(ctx, dsn)
	}
	if err != nil {
		return bench.StorageResult{}, fmt.Errorf("open %s: %w", storage.Redact(dsn), err)
	}
	defer store.Close()
	return bench.StorageThroughput(ctx, store, label, n, workers)
}
