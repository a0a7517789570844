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

func TestCheckWrite(t *testing.T) {
	good := make([]byte, Headroom+20)
	for _, c := range []struct {
		bufs [][]byte
		off  int
		want error
	}{
		{[][]byte{good, good}, Headroom, nil},
		{[][]byte{good}, Headroom - 1, ErrOffset},
		{[][]byte{good, make([]byte, Headroom)}, Headroom, ErrPacketSize},
		{[][]byte{make([]byte, Headroom+MaxPacket+1)}, Headroom, ErrPacketSize},
		{[][]byte{make([]byte, 4)}, Headroom, ErrPacketSize},
	} {
		if err := CheckWrite(c.bufs, c.off); !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
			t.Errorf("CheckWrite(%d buffers, offset %d) = %v, want %v", len(c.bufs), c.off, err, c.want)
		}
	}
}
