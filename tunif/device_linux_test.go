package tunif

import (
	"errors"
	"strings"
	"testing"
)

// TestConfigChecked refuses what the kernel would refuse, before opening
// anything (no root needed).
func TestConfigChecked(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Name: "a-name-of-16-byt"}, "longer than 15"},
		{Config{Name: "x", MTU: -1}, "outside"},
		{Config{Name: "x", MTU: MaxPacket + 1}, "outside"},
	} {
		_, err := OpenTUN(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OpenTUN(%+v): %v, want an error saying %q", c.cfg, err, c.want)
		}
		_, err = OpenTAP(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OpenTAP(%+v): %v, want an error saying %q", c.cfg, err, c.want)
		}
	}
}

func TestOffsetBelowHeadroom(t *testing.T) {
	bufs, sizes := [][]byte{make([]byte, 100)}, []int{0}
	if err := checkRead(bufs, sizes, Headroom-1); !errors.Is(err, ErrOffset) {
		t.Errorf("offset %d: %v, want ErrOffset", Headroom-1, err)
	}
	if err := checkRead(bufs, nil, Headroom); err == nil {
		t.Error("fewer sizes than buffers accepted")
	}
}

func TestBadSize(t *testing.T) {
	for n, bad := range map[int]bool{-3: true, 0: true, 1: false, MaxPacket: false, MaxPacket + 1: true} {
		if badSize(n) != bad {
			t.Errorf("badSize(%d) = %v", n, !bad)
		}
	}
}
