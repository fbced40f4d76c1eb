package retune

import (
	"context"
	"fmt"
	"time"
)

// AgentInfo is what a server knows of one `retune agent`: what it said of itself at its
// last contact.
type AgentInfo struct {
	ID      string // chosen by the agent, stable for its life: host/pid/random
	Host    string // as the agent names its machine
	Addr    string // the address its last report came from, as the server saw it
	PID     int
	Study   string // the study it runs
	Slots   int
	Running int // trials it was running
	First   time.Time
	Last    time.Time // last contact
}

// Validate checks an agent's report of itself.
func (a AgentInfo) Validate() error {
	switch {
	case a.ID == "" || len(a.ID) > 200:
		return fmt.Errorf("%w: agent id %q: want 1 to 200 characters", ErrInvalid, a.ID)
	case len(a.Host) > 255 || len(a.Study) > 255 || len(a.Addr) > 255:
		return fmt.Errorf("%w: agent host, address or study too long: want at most 255 characters", ErrInvalid)
	case a.Slots < 0 || a.Running < 0 || a.PID < 0:
		return fmt.Errorf("%w: agent slots %d, running %d, pid %d: want >= 0", ErrInvalid, a.Slots, a.Running, a.PID)
	}
	return nil
}

// AgentStore keeps what servers know of their agents. Every Storage in this module
// implements it.
type AgentStore interface {
	// RecordAgent records an agent's report of itself (First is kept from its first one;
	// Last is now).
	RecordAgent(ctx context.Context, a AgentInfo) error
	// Agents lists the agents seen since since, most recent contact first.
	Agents(ctx context.Context, since time.Time) ([]AgentInfo, error)
}
