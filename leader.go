package retune

import (
	"context"
	"fmt"
	"time"
)

// LeaderStore elects, through the database, one holder at a time of a named role — the
// replica of `retune serve` that makes retraining decisions and delivers events. A
// holder's term lasts ttl from its last AcquireLeadership; one that dies is replaced once
// its term has run out. Every Storage in this module implements it.
type LeaderStore interface {
	// AcquireLeadership makes holder the leader of role until now+ttl if the role is free,
	// its term has run out, or holder already leads (a renewal), and reports whether
	// holder leads. Terms are judged by the database's clock (SQLite: this host's).
	AcquireLeadership(ctx context.Context, role, holder string, ttl time.Duration) (bool, error)
	// ReleaseLeadership ends holder's term of role at once, if holder leads it.
	ReleaseLeadership(ctx context.Context, role, holder string) error
}

// CheckLeadership validates the arguments of LeaderStore.AcquireLeadership.
func CheckLeadership(role, holder string, ttl time.Duration) error {
	switch {
	case role == "" || holder == "":
		return fmt.Errorf("%w: leadership needs a role and a holder", ErrInvalid)
	case ttl <= 0:
		return fmt.Errorf("%w: leadership term %v: want > 0", ErrInvalid, ttl)
	}
	return nil
}
