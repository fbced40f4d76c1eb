package runner

import (
	"fmt"
	"os"
	"sync"
)

// headTail writes a trial's output to a file, keeping the first head bytes and the last
// tail bytes: a trainer that prints without end cannot fill the disk or the memory. Writes
// never fail: the trainer's output must keep flowing (its metrics are parsed from it), so
// the first error writing the file (a full disk, say) goes to onErr and the log ends there.
type headTail struct {
	mu      sync.Mutex
	f       *os.File
	onErr   func(error)
	failed  bool
	head    int64 // bytes still allowed into the file's head
	ring    []byte
	start   int   // index of the oldest byte in ring once full
	full    bool  // ring has wrapped
	dropped int64 // bytes neither in the head nor in the ring
}

func newHeadTail(path string, head, tail int, onErr func(error)) (*headTail, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	return &headTail{f: f, head: int64(head), ring: make([]byte, 0, tail), onErr: onErr}, nil
}

// fail records a write error; the log gets nothing more.
func (h *headTail) fail(err error) {
	if !h.failed {
		h.failed = true
		if h.onErr != nil {
			h.onErr(fmt.Errorf("write trial log %s: %w", h.f.Name(), err))
		}
	}
}

func (h *headTail) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := len(p)
	if h.failed {
		return n, nil
	}
	if h.head > 0 {
		k := min(int64(len(p)), h.head)
		if _, err := h.f.Write(p[:k]); err != nil {
			h.fail(err)
			return n, nil
		}
		h.head -= k
		p = p[k:]
	}
	for len(p) > 0 {
		c := cap(h.ring)
		if c == 0 {
			h.dropped += int64(len(p))
			break
		}
		if !h.full {
			k := min(len(p), c-len(h.ring))
			h.ring = append(h.ring, p[:k]...)
			p = p[k:]
			if len(h.ring) == c {
				h.full = true
			}
			continue
		}
		k := min(len(p), c-h.start)
		copy(h.ring[h.start:], p[:k])
		h.dropped += int64(k)
		h.start = (h.start + k) % c
		p = p[k:]
	}
	return n, nil
}

// Close writes the kept tail after a marker saying how much was left out, and closes.
func (h *headTail) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failed {
		return h.f.Close()
	}
	if h.dropped > 0 {
		fmt.Fprintf(h.f, "\n… %d bytes of output left out …\n", h.dropped)
	}
	var err error
	if h.full {
		_, err = h.f.Write(h.ring[h.start:])
		if err == nil {
			_, err = h.f.Write(h.ring[:h.start])
		}
	} else {
		_, err = h.f.Write(h.ring)
	}
	if err != nil {
		h.fail(err)
	}
	if cerr := h.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// tailBuffer keeps the last n bytes written to it (stderr for fail reasons).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	n   int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	if len(b) > t.n {
		b = b[len(b)-t.n:]
	}
	return string(b)
}
