package schema

import (
	"strings"
	"testing"
)

func TestIsDNSName(t *testing.T) {
	label := strings.Repeat("a", 63)
	tests := []struct {
		s    string
		want bool
	}{
		{"example.com", true},
		{"example.com.", true},
		{"x-1.Example", true},
		{label + "." + label + "." + label + "." + strings.Repeat("a", 61), true},
		{label + "." + label + "." + label + "." + strings.Repeat("a", 62), false},
		{"a..b", false},
		{"a-", false},
		{"a_b", false},
		{".", false},
	}
	for _, tt := range tests {
		if got := isDNSName(tt.s); got != tt.want {
			t.Errorf("isDNSName(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
