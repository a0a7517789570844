package tool

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Mbps returns the rate, in Mbit/s, of moving n bytes in d; 0 for d <= 0.
func Mbps(bytes uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) * 8 / d.Seconds() / 1e6
}

// PerSecond returns n per second over d; 0 for d <= 0.
func PerSecond(n uint64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// FormatBytes renders a byte count with a decimal unit: "1.50 MB", "512 B".
func FormatBytes(n uint64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, exp := float64(n), 0
	for f >= unit && exp < 4 {
		f /= unit
		exp++
	}
	return fmt.Sprintf("%.2f %cB", f, "kMGT"[exp-1])
}

// FormatPercent renders p with at most three decimals and no trailing
// zeros, the way ping prints loss: "0", "20", "33.333".
func FormatPercent(p float64) string {
	s := strconv.FormatFloat(p, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
