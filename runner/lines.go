package runner

import (
	"bytes"
	"io"
	"os"
	"sync"
)

// maxPending bounds the metric lines read from stdout and not yet handled; beyond it the
// reader waits, and so in the end does the trainer. It bounds how far a prune decision
// lags behind a trainer that writes faster than its steps are stored.
const maxPending = 4096

// lineQueue carries metric lines from the stdout reader to the trial's loop. The reader
// does not wait while the loop stores steps (up to maxPending lines); the loop takes all
// pending lines at once.
type lineQueue struct {
	kick chan struct{} // capacity 1: lines are pending

	mu      sync.Mutex
	taken   *sync.Cond // lines were taken
	lines   []Line
	skipped int // lines over the maximum, once reading has ended
}

func newLineQueue() *lineQueue {
	q := &lineQueue{kick: make(chan struct{}, 1)}
	q.taken = sync.NewCond(&q.mu)
	return q
}

func (q *lineQueue) put(lines []Line) {
	q.mu.Lock()
	for len(q.lines) >= maxPending {
		q.taken.Wait()
	}
	q.lines = append(q.lines, lines...)
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// take returns the pending lines in the order they were read.
func (q *lineQueue) take() []Line {
	q.mu.Lock()
	defer q.mu.Unlock()
	lines := q.lines
	q.lines = nil
	q.taken.Broadcast()
	return lines
}

// readFrom copies r to log and queues its metric lines, until r ends or fails.
func (q *lineQueue) readFrom(r io.Reader, log io.Writer, max int, steps []string) {
	sp := &lineSplitter{max: max, steps: steps}
	buf := make([]byte, 64<<10)
	var lines []Line
	for {
		n, err := r.Read(buf)
		if n > 0 {
			_, _ = log.Write(buf[:n])
			if lines = sp.feed(buf[:n], lines[:0]); len(lines) > 0 {
				q.put(lines)
			}
		}
		if err != nil {
			break
		}
	}
	if lines = sp.flush(lines[:0]); len(lines) > 0 {
		q.put(lines)
	}
	q.mu.Lock()
	q.skipped = sp.skipped
	q.mu.Unlock()
}

// skippedLines returns how many lines readFrom skipped as too long.
func (q *lineQueue) skippedLines() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.skipped
}

// lineSplitter cuts a stream into lines and parses them; lines longer than max are
// skipped, and counted.
type lineSplitter struct {
	max      int
	steps    []string // step keys; nil: DefaultStepKeys
	buf      []byte   // the start of a line
	skipping bool     // the current line is too long
	skipped  int
}

// feed appends to lines the metric lines p completes.
func (s *lineSplitter) feed(p []byte, lines []Line) []Line {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !s.skipping {
				if len(s.buf)+len(p) > s.max {
					s.buf, s.skipping = s.buf[:0], true
				} else {
					s.buf = append(s.buf, p...)
				}
			}
			break
		}
		line := p[:i]
		if len(s.buf) > 0 {
			line = append(s.buf, line...)
		}
		if s.skipping || len(line) > s.max {
			s.skipped++
		} else if l, ok := ParseLineSteps(line, s.steps); ok {
			lines = append(lines, l)
		}
		s.buf, s.skipping = s.buf[:0], false
		p = p[i+1:]
	}
	return lines
}

// flush appends the metric line of a last line without a newline.
func (s *lineSplitter) flush(lines []Line) []Line {
	if s.skipping {
		s.skipped++
	} else if len(s.buf) > 0 {
		if l, ok := ParseLineSteps(s.buf, s.steps); ok {
			lines = append(lines, l)
		}
	}
	s.buf, s.skipping = s.buf[:0], false
	return lines
}

// fileTail reads the lines appended to the metrics file since the last read.
type fileTail struct {
	path  string
	max   int
	steps []string
	off   int64
	sp    *lineSplitter
}

func (f *fileTail) read() []Line {
	if f.sp == nil {
		f.sp = &lineSplitter{max: f.max, steps: f.steps}
	}
	fh, err := os.Open(f.path)
	if err != nil {
		return nil
	}
	defer fh.Close()
	if _, err := fh.Seek(f.off, io.SeekStart); err != nil {
		return nil
	}
	var out []Line
	buf := make([]byte, 64<<10)
	for {
		n, err := fh.Read(buf)
		f.off += int64(n)
		out = f.sp.feed(buf[:n], out)
		if err != nil || n == 0 {
			return out
		}
	}
}

// flush returns the metric line of a last line without a newline.
func (f *fileTail) flush() []Line {
	if f.sp == nil {
		return nil
	}
	return f.sp.flush(nil)
}

// skippedLines returns how many lines were skipped as too long.
func (f *fileTail) skippedLines() int {
	if f.sp == nil {
		return 0
	}
	return f.sp.skipped
}
