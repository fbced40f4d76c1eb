package storage_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/storage"
)

// Open picks the backend from the DSN: here a SQLite file, created on first use, that a
// second Open (another process, say) sees with the study in it. OpenExisting, for commands
// that only read, refuses a file that is not there.
func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "retune-example-")
	defer os.RemoveAll(dir)
	dsn := filepath.Join(dir, "retune.db")
	for _, d := range []string{"memory", dsn, "sqlite://" + dsn, "postgres://u@db.internal/retune"} {
		kind, _, _ := storage.Kind(d)
		fmt.Println(kind)
	}

	store, err := storage.Open(ctx, dsn)
	if err != nil {
		panic(err)
	}
	if _, err := retune.NewStudy(ctx, retune.Config{Name: "demo", Storage: store}); err != nil {
		panic(err)
	}
	store.Close()

	again, err := storage.OpenExisting(ctx, "sqlite://"+dsn)
	if err != nil {
		panic(err)
	}
	defer again.Close()
	rec, err := again.Study(ctx, "demo")
	fmt.Println(rec.Name, err)
	_, err = storage.OpenExisting(ctx, filepath.Join(dir, "typo.db"))
	fmt.Println(err != nil)
	// Output:
	// memory
	// sqlite
	// sqlite
	// postgres
	// demo <nil>
	// true
}
