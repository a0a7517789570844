// Package benchres holds the results of the side-by-side benchmark
// (BenchmarkE2EOvpn in internal/e2e, written by make bench to
// bench/results.json): every measurement taken on each path in every
// round, their medians and the ratios of the medians between paths, so
// that two runs (two commits) can be compared with internal/benchcmp.
package benchres

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// The paths the harness measures, in the order of its tables: the
// ovpn link under test, wireguard-go and the bare veth both run over.
const (
	Ovpn      = "ovpn"
	Wireguard = "wireguard-go"
	Bare      = "bare"
)

// Results is one run of the harness.
type Results struct {
	Time      time.Time      `json:"time"`
	Commit    string         `json:"commit,omitempty"`     // git describe of the tree measured
	LoadStart string         `json:"load_start,omitempty"` // /proc/loadavg when the measuring began
	LoadEnd   string         `json:"load_end,omitempty"`   // and when it ended
	Rounds    int            `json:"rounds"`               // a b c a b c ...: how many times each path ran
	IperfSecs int            `json:"iperf_seconds"`        // each iperf3 run's -t
	CPUMethod string         `json:"cpu_method,omitempty"` // how cpu_s_per_gb is measured
	MTU       map[string]int `json:"mtu,omitempty"`        // the interface each path's traffic enters, by path
	Metrics   []*Metric      `json:"metrics"`
}

// Metric is one measurement on the paths it was taken on.
type Metric struct {
	Name   string             `json:"name"`             // e.g. tcp_1_stream
	Unit   string             `json:"unit"`             // e.g. Mbit/s
	Higher bool               `json:"higher_is_better"` // throughput yes, time and CPU no
	Paths  map[string]*Series `json:"paths"`
	// Ratios are the medians' ratios for each pair of paths measured,
	// keyed "a/b" in the order of Paths' constants (ovpn/wireguard-go,
	// ovpn/bare, wireguard-go/bare).
	Ratios map[string]float64 `json:"ratios,omitempty"`
}

// Series is one metric on one path: the value of each round and their
// median.
type Series struct {
	Rounds []float64 `json:"rounds"`
	Median float64   `json:"median"`
}

// order is the order of paths in tables and ratios.
var order = []string{Ovpn, Wireguard, Bare}

// Metric returns the metric called name, adding it (with its unit and
// direction) when it is new.
func (r *Results) Metric(name, unit string, higher bool) *Metric {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m
		}
	}
	m := &Metric{Name: name, Unit: unit, Higher: higher, Paths: map[string]*Series{}}
	r.Metrics = append(r.Metrics, m)
	return m
}

// Add records one round's value of the metric on path.
func (m *Metric) Add(path string, v float64) {
	s := m.Paths[path]
	if s == nil {
		s = &Series{}
		m.Paths[path] = s
	}
	s.Rounds = append(s.Rounds, v)
}

// Finish computes every series' median and the ratios between the paths.
func (r *Results) Finish() {
	for _, m := range r.Metrics {
		for _, s := range m.Paths {
			s.Median = Median(s.Rounds)
		}
		m.Ratios = map[string]float64{}
		for i, a := range order {
			for _, b := range order[i+1:] {
				sa, sb := m.Paths[a], m.Paths[b]
				if sa != nil && sb != nil && sb.Median != 0 {
					m.Ratios[a+"/"+b] = sa.Median / sb.Median
				}
			}
		}
	}
}

// Median returns the median of vs (0 for none).
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Write writes the results as indented JSON to path, making its
// directory.
func (r *Results) Write(path string) error { return WriteJSON(path, r) }

// WriteJSON writes v as indented JSON to path, making its directory: what
// every benchmark of make bench that leaves a file in bench/ uses.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("bench results: %w", err)
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// Read reads results written by Write.
func Read(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%s: not bench results: %w", path, err)
	}
	return &r, nil
}

// Table writes the medians, one metric a line, a column per path, then
// the ratios.
func (r *Results) Table(w io.Writer) {
	fmt.Fprintf(w, "%-26s %-7s %12s %12s %12s %9s %9s %9s\n",
		"metric (median)", "unit", Ovpn, Wireguard, Bare, "ovpn/wg", "ovpn/bare", "wg/bare")
	for _, m := range r.Metrics {
		fmt.Fprintf(w, "%-26s %-7s", m.Name, m.Unit)
		for _, p := range order {
			if s := m.Paths[p]; s != nil {
				fmt.Fprintf(w, " %12s", Format(s.Median))
			} else {
				fmt.Fprintf(w, " %12s", "-")
			}
		}
		for i, a := range order {
			for _, b := range order[i+1:] {
				if v, ok := m.Ratios[a+"/"+b]; ok {
					fmt.Fprintf(w, " %9.3f", v)
				} else {
					fmt.Fprintf(w, " %9s", "-")
				}
			}
		}
		fmt.Fprintln(w)
	}
}

// Format writes v with the digits that matter at its size: whole numbers
// from 100 up, else four significant digits.
func Format(v float64) string {
	if v >= 100 || v <= -100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
