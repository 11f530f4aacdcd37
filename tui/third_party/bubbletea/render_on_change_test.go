package tea

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingRenderer is the cursed renderer's stand-in for WithRenderOnChange:
// it counts the renderer goroutine's flushes and remembers what it drew.
type countingRenderer struct {
	nilRenderer
	flushes atomic.Int64
	mu      sync.Mutex
	view    string
	drawn   string
}

func (r *countingRenderer) render(v View) {
	r.mu.Lock()
	r.view = v.Content
	r.mu.Unlock()
}

func (r *countingRenderer) flush(bool) error {
	r.flushes.Add(1)
	r.mu.Lock()
	r.drawn = r.view
	r.mu.Unlock()
	return nil
}

func (r *countingRenderer) lastDrawn() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.drawn
}

type setViewMsg string

type stillModel struct{ content string }

func (m stillModel) Init() Cmd { return nil }

func (m stillModel) Update(msg Msg) (Model, Cmd) {
	if s, ok := msg.(setViewMsg); ok {
		m.content = string(s)
	}
	return m, nil
}

func (m stillModel) View() View { return NewView(m.content) }

func startCounting(t *testing.T, fps int, opts ...ProgramOption) (*Program, *countingRenderer) {
	t.Helper()
	r := &countingRenderer{}
	ctx, cancel := context.WithCancel(context.Background())
	opts = append([]ProgramOption{WithContext(ctx), WithInput(nil), WithOutput(&bytes.Buffer{}), WithFPS(fps), WithoutSignals()}, opts...)
	p := NewProgram(stillModel{content: "first"}, opts...)
	p.renderer = r
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = p.Run()
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitFor(t, func() bool { return r.lastDrawn() == "first" })
	return p, r
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// Without the option the renderer ticks at the frame rate, drawn or not,
// as upstream's always did.
func TestRendererTicksByDefault(t *testing.T) {
	_, r := startCounting(t, 60)
	before := r.flushes.Load()
	time.Sleep(300 * time.Millisecond)
	if n := r.flushes.Load() - before; n < 3 {
		t.Fatalf("the default renderer flushed %d times in 300 ms at 60 fps; want a tick a frame", n)
	}
}

// With the option an idle program's renderer sleeps.
func TestRendererSleepsWhileNothingChanges(t *testing.T) {
	_, r := startCounting(t, 60, WithRenderOnChange())
	time.Sleep(100 * time.Millisecond) // the start's own messages (size, color profile) settle
	before := r.flushes.Load()
	time.Sleep(300 * time.Millisecond)
	if n := r.flushes.Load() - before; n != 0 {
		t.Fatalf("the renderer flushed %d times with nothing queued; want 0", n)
	}
}

// A changed view is drawn without waiting for a tick, and the last view
// of a burst is always drawn.
func TestRendererDrawsAChangeAndTheLastOfABurst(t *testing.T) {
	p, r := startCounting(t, 10, WithRenderOnChange())
	p.Send(setViewMsg("second"))
	waitFor(t, func() bool { return r.lastDrawn() == "second" })
	before := r.flushes.Load()
	for i := 0; i < 200; i++ {
		p.Send(setViewMsg("burst"))
	}
	p.Send(setViewMsg("last"))
	waitFor(t, func() bool { return r.lastDrawn() == "last" })
	// At 10 fps, 201 views sent within well under a second are at most a
	// few frames: the frame rate stays the ceiling.
	if n := r.flushes.Load() - before; n > 5 {
		t.Fatalf("a burst of 201 views took %d flushes at 10 fps; want a few", n)
	}
}
