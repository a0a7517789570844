package qos

import (
	"strings"
	"testing"
)

func TestParseNamedSpecs(t *testing.T) {
	cases := []struct {
		name string
		want Spec
		cube Cube
		frct bool
		rel  bool
	}{
		{"raw", Raw, CubeBE, false, false},
		{"best", Best, CubeBE, true, false},
		{"BEST-EFFORT", Best, CubeBE, true, false},
		{"video", Video, CubeVideo, true, false},
		{"voice", Voice, CubeVoice, true, false},
		{"data", Data, CubeBE, true, true},
	}
	for _, c := range cases {
		got, err := Parse(c.name)
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("Parse(%q) = %+v, want %+v", c.name, got, c.want)
		}
		if got.Cube() != c.cube {
			t.Errorf("%s: cube %v, want %v", c.name, got.Cube(), c.cube)
		}
		if got.NeedsFRCT() != c.frct || got.Reliable() != c.rel {
			t.Errorf("%s: frct=%t reliable=%t", c.name, got.NeedsFRCT(), got.Reliable())
		}
	}
}

func TestParseUnknownNamesChoices(t *testing.T) {
	_, err := Parse("fast")
	if err == nil || !strings.Contains(err.Error(), "raw, best, video, voice, data") {
		t.Fatalf("Parse(fast) error = %v, want the list of names", err)
	}
}

func TestStringRoundTrip(t *testing.T) {
	for _, n := range Names {
		s, _ := Parse(n)
		if s.String() != n {
			t.Errorf("%s.String() = %q", n, s.String())
		}
	}
	custom := Data
	custom.Delay = 7
	if !strings.Contains(custom.String(), "delay=7ms") {
		t.Errorf("custom spec String() = %q", custom.String())
	}
}

func TestCubeBoundaries(t *testing.T) {
	s := Voice
	s.Bandwidth = 100_001
	if s.Cube() != CubeVideo {
		t.Errorf("voice above 100 kb/s should fall to video, got %v", s.Cube())
	}
	s = Video
	s.Availability = 2
	if s.Cube() != CubeBE {
		t.Errorf("video with availability 2 should fall to best effort, got %v", s.Cube())
	}
}
