package config

import "strings"

// nearest returns the words of known closest to s, if they are close enough
// for s to be a slip of the keyboard (dht_t_expiry for dht_t_expire): at
// most a third of s's letters wrong, and never more than two.
func nearest(s string, known []string) []string {
	limit := min(max(len(s)/3, 1), 2)
	best := limit + 1
	var out []string
	for _, w := range known {
		d := distance(s, w)
		if strings.EqualFold(s, w) {
			d = 0 // a change of case is always a likely slip
		}
		switch {
		case d < best:
			best, out = d, []string{w}
		case d == best:
			out = append(out, w)
		}
	}
	return out
}

// distance is the Levenshtein distance between a and b, in bytes; the keys
// it compares are ASCII.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
