package bench

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Figures are the names Report knows, in the order it measures them by
// default.
var Figures = []string{"screen", "idle", "keys", "fleet", "feeds", "ingest", "memory", "start"}

// A value is one number a run of a figure produced.
type value struct {
	label  string
	v      float64
	format func(float64) string
}

func kb(b float64) string { return fmt.Sprintf("%.2f KiB", b/1024) }

func ms(x float64) string    { return fmt.Sprintf("%.2f ms", x) }
func msps(x float64) string  { return fmt.Sprintf("%.2f ms/s", x) }
func kbps(x float64) string  { return kb(x) + "/s" }
func ratio(x float64) string { return fmt.Sprintf("%.2f", x) }
func us(x float64) string    { return fmt.Sprintf("%.2f µs", x) }
func perSecond(x float64) string {
	return fmt.Sprintf("%.0f/s", x)
}
func mib(x float64) string { return fmt.Sprintf("%.1f MiB", x) }

func durMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// figure measures once and returns its values (in a fixed order) and
// notes (peers skipped).
type figure struct {
	title string
	run   func(ctx context.Context, o Options) ([]value, []string, error)
}

func screenFigure(w, h int) figure {
	return figure{
		title: fmt.Sprintf("screen %dx%d: 20 hosts reporting every 1 s, an incident open; the dashboard's process alone, peers at a 1 s refresh", w, h),
		run: func(ctx context.Context, o Options) ([]value, []string, error) {
			s, err := MeasureScreen(ctx, o, w, h)
			if err != nil {
				return nil, nil, err
			}
			vals := []value{{"vigil CPU", durMS(s.Vigil.CPU), msps}, {"vigil bytes", s.Vigil.Bytes, kbps}}
			for _, p := range s.Peers {
				name := p.Name
				if name == "htop" {
					name = "htop -d 10"
				}
				vals = append(vals, value{name + " CPU", durMS(p.CPU), msps}, value{name + " bytes", p.Bytes, kbps})
			}
			if h, ok := s.Peer("htop"); ok && h.CPU > 0 && h.Bytes > 0 {
				vals = append(vals, value{"vigil/htop CPU", float64(s.Vigil.CPU) / float64(h.CPU), ratio},
					value{"vigil/htop bytes", s.Vigil.Bytes / h.Bytes, ratio})
			}
			return vals, s.Notes, nil
		},
	}
}

func figures(name string) ([]figure, error) {
	switch name {
	case "screen", "bandwidth":
		return []figure{screenFigure(80, 24), screenFigure(200, 60)}, nil
	case "idle":
		return []figure{{title: "idle at 80x24: 20 hosts reported once (hour-long interval), an incident open, then nothing", run: func(ctx context.Context, o Options) ([]value, []string, error) {
			r, err := MeasureIdle(ctx, o)
			return []value{{"CPU per minute", durMS(r.CPUPerMinute), ms}, {"bytes per minute", r.BytesPerMinute, kb}}, nil, err
		}}}, nil
	case "keys":
		return []figure{{title: "keypress to screen at 80x24 under 10,000 samples/s over 1,000 hosts", run: func(ctx context.Context, o Options) ([]value, []string, error) {
			r, err := MeasureResponsiveness(ctx, o)
			return []value{{"p50", durMS(r.P50), ms}, {"p99", durMS(r.P99), ms}, {"max", durMS(r.Max), ms}}, []string{fmt.Sprintf("%d presses a run", r.Presses)}, err
		}}}, nil
	case "fleet":
		return []figure{{title: "10,000 hosts each reporting every 1 s, one feed, 80x24", run: func(ctx context.Context, o Options) ([]value, []string, error) {
			r, err := MeasureFleet(ctx, o, 10_000, 1)
			return []value{{"vigil CPU", durMS(r.CPU), msps}, {"CPU per sample", float64(r.PerSample()) / 1e3, us}}, nil, err
		}}}, nil
	case "feeds":
		return []figure{{title: "1,000 hosts each reporting every 1 s: over 100 feeds against over one feed, 80x24", run: func(ctx context.Context, o Options) ([]value, []string, error) {
			one, err := MeasureFleet(ctx, o, 1000, 1)
			if err != nil {
				return nil, nil, err
			}
			hundred, err := MeasureFleet(ctx, o, 1000, 100)
			if err != nil {
				return nil, nil, err
			}
			vals := []value{{"one feed CPU", durMS(one.CPU), msps}, {"100 feeds CPU", durMS(hundred.CPU), msps}}
			if one.CPU > 0 {
				vals = append(vals, value{"100 feeds / one feed", float64(hundred.CPU) / float64(one.CPU), ratio})
			}
			return vals, nil, nil
		}}}, nil
	case "ingest":
		return []figure{{title: "ingest: the real client and reducer against a bare gorilla read loop on the same stream", run: func(ctx context.Context, o Options) ([]value, []string, error) {
			r, err := MeasureIngest(ctx, 100_000)
			return []value{{"journal messages", r.Journal, perSecond}, {"journal, bare loop", r.JournalRaw, perSecond},
				{"load samples", r.Loads, perSecond}, {"load samples, bare loop", r.LoadsRaw, perSecond}}, nil, err
		}}}, nil
	case "memory":
		return []figure{{title: "resident memory after 100,000 entries + 1,000,000 samples over 1,000 hosts, then 1,000,000 more", run: func(ctx context.Context, o Options) ([]value, []string, error) {
			r, err := MeasureMemory(ctx, o)
			return []value{{"after the first million", float64(r.AfterFirst) / (1 << 20), mib}, {"after the second", float64(r.AfterTwo) / (1 << 20), mib},
				{"growth", float64(r.Growth()) / (1 << 20), mib}}, nil, err
		}}}, nil
	case "start":
		return []figure{{title: "start to the first frame showing every demo host", run: func(ctx context.Context, o Options) ([]value, []string, error) {
			d, err := MeasureFirstFrame(ctx, o)
			return []value{{"first frame", durMS(d), ms}}, nil, err
		}}}, nil
	case "ssh":
		return []figure{{title: "over SSH at 80x24 (real OpenSSH client): the hub's dashboard against htop -d 10 over the same kind of session", run: func(ctx context.Context, o Options) ([]value, []string, error) {
			b, err := MeasureSSHBandwidth(ctx, o, 80, 24)
			vals := []value{{"vigil bytes", b.Vigil, kbps}}
			var notes []string
			if b.Htop > 0 {
				vals = append(vals, value{"htop -d 10 bytes", b.Htop, kbps}, value{"vigil/htop bytes", b.Ratio, ratio})
			} else {
				notes = append(notes, b.HtopNote)
			}
			return vals, notes, err
		}}}, nil
	}
	return nil, fmt.Errorf("unknown figure %q (known: %s, ssh)", name, strings.Join(Figures, ", "))
}

// Report measures the named figures, each Options.Runs times, and prints
// each value as median (min–max), with the machine and its load average.
func Report(ctx context.Context, o Options, which []string, out io.Writer) error {
	o.defaults()
	var figs []figure
	for _, w := range which {
		if w = strings.TrimSpace(w); w == "" {
			continue
		}
		f, err := figures(w)
		if err != nil {
			return err
		}
		figs = append(figs, f...)
	}
	m := ThisMachine()
	fmt.Fprintf(out, "vigil bench: %s\n%s; load average %s at the start\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), m, m.LoadAvg)
	fmt.Fprintf(out, "each value: median (min–max) of %d runs\n", o.Runs)
	for _, f := range figs {
		fmt.Fprintf(out, "\n%s\n", f.title)
		var order []string
		runs := map[string][]float64{}
		formats := map[string]func(float64) string{}
		notes := map[string]bool{}
		for i := 0; i < o.Runs; i++ {
			o.Log("%s: run %d of %d", f.title, i+1, o.Runs)
			vals, ns, err := f.run(ctx, o)
			if err != nil {
				return fmt.Errorf("%s: %w", f.title, err)
			}
			for _, v := range vals {
				if _, seen := runs[v.label]; !seen {
					order = append(order, v.label)
					formats[v.label] = v.format
				}
				runs[v.label] = append(runs[v.label], v.v)
			}
			for _, n := range ns {
				notes[n] = true
			}
		}
		for _, label := range order {
			fmt.Fprintf(out, "  %-28s %s\n", label, spread(runs[label]).Format(formats[label]))
		}
		for _, n := range slices.Sorted(maps.Keys(notes)) {
			fmt.Fprintf(out, "  (%s)\n", n)
		}
	}
	fmt.Fprintf(out, "\nload average %s at the end\n", loadAvg())
	return nil
}
