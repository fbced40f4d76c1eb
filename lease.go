package retune

import (
	"strconv"
	"strings"
)

// Process returns the host and process id of the retune process that holds the lease,
// when its holder is one a Study writes ("host/pid/random", see newHolder); ok is false
// for any other holder (another program's, or an empty one). A process on the same host
// that no longer exists cannot renew the lease: its trials are orphans (see
// runner.RecoverOrphans).
func (l Lease) Process() (host string, pid int, ok bool) {
	parts := strings.Split(l.Holder, "/")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return "", 0, false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return parts[0], pid, true
}
