package tool

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"o7s.dev/ouroboros/stack/qos"
)

// ParseDuration parses a Go duration ("10ms", "1.5s") or a plain number,
// which counts in unit: the tools take "-i 200" as 200 ms and "-d 10" as
// 10 s, as the reference tools do. Negative durations are refused.
func ParseDuration(s string, unit time.Duration) (time.Duration, error) {
	var d time.Duration
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f*float64(unit)) > math.MaxInt64 {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		d = time.Duration(f * float64(unit))
	} else {
		var perr error
		if d, perr = time.ParseDuration(s); perr != nil {
			return 0, fmt.Errorf("%q is neither a duration like 10ms or 2s nor a plain number of %s", s, unitName(unit))
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	return d, nil
}

func unitName(unit time.Duration) string {
	switch unit {
	case time.Millisecond:
		return "milliseconds"
	case time.Second:
		return "seconds"
	}
	return unit.String() + " units"
}

// durationValue is a flag.Value over a time.Duration; see ParseDuration.
type durationValue struct {
	p    *time.Duration
	unit time.Duration
}

// DurationValue returns a flag.Value that sets *p with ParseDuration, plain
// numbers counting in unit.
func DurationValue(p *time.Duration, unit time.Duration) *durationValue {
	return &durationValue{p: p, unit: unit}
}

func (v *durationValue) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return v.p.String()
}

func (v *durationValue) Set(s string) error {
	d, err := ParseDuration(s, v.unit)
	if err != nil {
		return err
	}
	*v.p = d
	return nil
}

// rateSuffixes are the decimal multipliers of bit rates, as networks count.
var rateSuffixes = []struct {
	suffix string
	mult   float64
}{
	{"T", 1e12}, {"G", 1e9}, {"M", 1e6}, {"k", 1e3}, {"K", 1e3},
}

// ParseRate parses a rate in bits per second: a number with an optional
// decimal suffix k, M, G or T ("2.5M" is 2 500 000 bit/s), optionally
// followed by "bit/s", "bps" or "b". The rate must be positive.
func ParseRate(s string) (uint64, error) {
	num := s
	for _, unit := range []string{"bit/s", "bps", "b"} {
		if strings.HasSuffix(num, unit) {
			num = strings.TrimSuffix(num, unit)
			break
		}
	}
	mult := 1.0
	for _, rs := range rateSuffixes {
		if strings.HasSuffix(num, rs.suffix) {
			num, mult = strings.TrimSuffix(num, rs.suffix), rs.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a rate: use bits per second with an optional k, M or G suffix, like 800k or 1.5G", s)
	}
	bps := f * mult
	switch {
	case bps < 1:
		return 0, fmt.Errorf("%q: the rate must be at least 1 bit/s", s)
	case bps > math.MaxUint64/2:
		return 0, fmt.Errorf("%q: the rate is too large", s)
	}
	return uint64(math.Round(bps)), nil
}

// FormatRate renders a rate in bits per second with a decimal suffix, the
// inverse of ParseRate for exact values ("1M", "2500k", "300").
func FormatRate(bps uint64) string {
	for _, rs := range rateSuffixes[:4] {
		m := uint64(rs.mult)
		if bps >= m && bps%m == 0 {
			return strconv.FormatUint(bps/m, 10) + rs.suffix
		}
	}
	return strconv.FormatUint(bps, 10)
}

// rateValue is a flag.Value over a rate in bit/s; see ParseRate.
type rateValue struct{ p *uint64 }

// RateValue returns a flag.Value that sets *p with ParseRate.
func RateValue(p *uint64) *rateValue { return &rateValue{p: p} }

func (v *rateValue) String() string {
	if v == nil || v.p == nil {
		return ""
	}
	return FormatRate(*v.p)
}

func (v *rateValue) Set(s string) error {
	r, err := ParseRate(s)
	if err != nil {
		return err
	}
	*v.p = r
	return nil
}

// QoS is a named QoS spec chosen on the command line. It is a flag.Value.
type QoS struct {
	Name string
	Spec qos.Spec
}

// MustQoS returns the named spec; it panics on a name qos.Parse refuses, so
// use it only with constants.
func MustQoS(name string) QoS {
	s, err := qos.Parse(name)
	if err != nil {
		panic(err)
	}
	return QoS{Name: name, Spec: s}
}

func (q *QoS) String() string { return q.Name }

// Set takes a spec's name, optionally with its peer timeout changed:
// "data,timeout=5s" (a plain number is milliseconds; 0 disables it).
func (q *QoS) Set(s string) error {
	name, opt, hasOpt := strings.Cut(s, ",")
	spec, err := qos.Parse(name)
	if err != nil {
		return err
	}
	if hasOpt {
		v, ok := strings.CutPrefix(opt, "timeout=")
		if !ok {
			return fmt.Errorf("unknown QoS option %q: only timeout=DURATION may follow the spec's name", opt)
		}
		d, err := ParseDuration(v, time.Millisecond)
		if err != nil || d < 0 || d > time.Duration(math.MaxUint32)*time.Millisecond {
			return fmt.Errorf("bad peer timeout %q: give a duration such as 5s, or 0 for none", v)
		}
		spec.Timeout = uint32(d / time.Millisecond)
	}
	q.Name, q.Spec = strings.ToLower(s), spec
	return nil
}

// QoSUsage is the help text of a -q option.
const QoSUsage = "QoS spec: raw (what the layer gives), best, video or voice (in order; what a layer loses is skipped) or data (in order and reliable: lost SDUs are sent again); ',timeout=DURATION' changes how long a silent peer is thought alive (default 15s, 0: forever; not on raw)"
