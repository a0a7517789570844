package benchres

import (
	"fmt"
	"io"
)

// Compare writes, for every metric and path of cur that old also has, the
// old and the new median and the change, marked better or worse by the
// metric's direction. Metrics or paths only one run has are listed as
// such, so that a renamed measurement does not vanish from the comparison
// unnoticed.
func Compare(w io.Writer, old, cur *Results) {
	fmt.Fprintf(w, "old: %s %s (load %s)\nnew: %s %s (load %s)\n",
		old.Time.Format("2006-01-02 15:04"), old.Commit, old.LoadStart,
		cur.Time.Format("2006-01-02 15:04"), cur.Commit, cur.LoadStart)
	fmt.Fprintf(w, "%-26s %-13s %-7s %12s %12s %s\n", "metric (median)", "path", "unit", "old", "new", "change")
	for _, m := range cur.Metrics {
		om := old.find(m.Name)
		for _, p := range order {
			s := m.Paths[p]
			if s == nil {
				continue
			}
			var prev *Series
			if om != nil {
				prev = om.Paths[p]
			}
			if prev == nil {
				fmt.Fprintf(w, "%-26s %-13s %-7s %12s %12s %8s\n", m.Name, p, m.Unit, "-", Format(s.Median), "new")
				continue
			}
			fmt.Fprintf(w, "%-26s %-13s %-7s %12s %12s %s\n", m.Name, p, m.Unit, Format(prev.Median), Format(s.Median), change(prev.Median, s.Median, m.Higher))
		}
	}
	for _, om := range old.Metrics {
		if cur.find(om.Name) == nil {
			fmt.Fprintf(w, "%-26s only in the old run\n", om.Name)
		}
	}
}

// change is the relative change from old to cur in percent, with a +
// when it is an improvement for a metric where higher (or lower) is
// better, and a - when it is a regression.
func change(old, cur float64, higher bool) string {
	if old == 0 {
		return "-"
	}
	pct := (cur - old) / old * 100
	better := pct > 0 == higher
	if pct == 0 {
		return "0%"
	}
	mark := "worse"
	if better {
		mark = "better"
	}
	return fmt.Sprintf("%+.1f%% %s", pct, mark)
}

// find returns the metric called name, or nil.
func (r *Results) find(name string) *Metric {
	for _, m := range r.Metrics {
		if m.Name == name {
			return m
		}
	}
	return nil
}
