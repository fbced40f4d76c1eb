package retune_test

import (
	"context"
	"os"
	"testing"

	"github.com/a6b40afc/retune"
)

func TestLeaseProcess(t *testing.T) {
	t.Parallel()
	s := newStudy(t, retune.Config{})
	tr, err := s.Ask(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Tell(context.Background(), tr, 1)
	running, err := s.Storage().Running(context.Background(), s.Record().ID)
	if err != nil || len(running) != 1 {
		t.Fatalf("Running = %v, %v", running, err)
	}
	host, _ := os.Hostname()
	if h, pid, ok := running[0].Lease.Process(); !ok || h != host || pid != os.Getpid() {
		t.Errorf("Process() = %q, %d, %v, want %q, %d, true (holder %q)", h, pid, ok, host, os.Getpid(), running[0].Lease.Holder)
	}
	for _, holder := range []string{"", "w", "host/12", "host/x/abc", "host/-3/abc", "/1/a", "a/1/b/c"} {
		if _, _, ok := (retune.Lease{Holder: holder}).Process(); ok {
			t.Errorf("Lease{Holder: %q}.Process() ok, want not a process", holder)
		}
	}
}
