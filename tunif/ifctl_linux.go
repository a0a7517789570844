package tunif

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// ifctl changes an interface through ioctls on a socket opened when the
// device was, so that they reach the device's network namespace even if the
// calling thread has since moved to another one.
type ifctl struct {
	fd   int
	name string
}

func newIfctl(name string) (ifctl, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return ifctl{fd: -1}, fmt.Errorf("tunif: %s: socket for interface ioctls: %w", name, err)
	}
	return ifctl{fd: fd, name: name}, nil
}

func (c ifctl) mtu() (int, error) {
	ifr, err := unix.NewIfreq(c.name)
	if err != nil {
		return 0, fmt.Errorf("tunif: %s: %w", c.name, err)
	}
	if err := unix.IoctlIfreq(c.fd, unix.SIOCGIFMTU, ifr); err != nil {
		return 0, fmt.Errorf("tunif: %s: get MTU: %w", c.name, err)
	}
	return int(ifr.Uint32()), nil
}

func (c ifctl) setMTU(mtu int) error {
	if mtu <= 0 || mtu > MaxPacket {
		return fmt.Errorf("tunif: %s: MTU %d is outside 1..%d", c.name, mtu, MaxPacket)
	}
	ifr, err := unix.NewIfreq(c.name)
	if err != nil {
		return fmt.Errorf("tunif: %s: %w", c.name, err)
	}
	ifr.SetUint32(uint32(mtu))
	if err := unix.IoctlIfreq(c.fd, unix.SIOCSIFMTU, ifr); err != nil {
		// EINVAL: below the protocol minimum (68 for IPv4, 1280 for an
		// interface with IPv6 addresses drops them) or above the maximum.
		return fmt.Errorf("tunif: %s: set MTU %d: %w", c.name, mtu, err)
	}
	return nil
}

// up sets IFF_UP, as `ip link set NAME up` does.
func (c ifctl) up() error {
	ifr, err := unix.NewIfreq(c.name)
	if err != nil {
		return fmt.Errorf("tunif: %s: %w", c.name, err)
	}
	if err := unix.IoctlIfreq(c.fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tunif: %s: get flags: %w", c.name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(c.fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("tunif: %s: bring up: %w", c.name, err)
	}
	return nil
}

func (c ifctl) close() error {
	if c.fd < 0 {
		return nil
	}
	return unix.Close(c.fd)
}

// openClone opens /dev/net/tun non-blocking and attaches it to a new
// interface with flags (IFF_TUN or IFF_TAP, with IFF_NO_PI and maybe
// IFF_VNET_HDR). It returns the fd and the name the kernel gave.
func openClone(name string, flags uint16) (int, string, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return -1, "", fmt.Errorf("tunif: open /dev/net/tun (is the tun module loaded, and are we root or CAP_NET_ADMIN?): %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return -1, "", fmt.Errorf("tunif: interface name %q: %w", name, err)
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return -1, "", fmt.Errorf("tunif: create interface %q (EBUSY: in use by another process; EPERM: needs root or CAP_NET_ADMIN): %w", name, err)
	}
	return fd, ifr.Name(), nil
}

// iface is what a TUN and a TAP share: the name, the ioctl socket and
// whether Close was called.
type iface struct {
	name   string
	ctl    ifctl
	closed atomic.Bool
}

// setup opens the ioctl socket, sets the MTU unless it is 0 and brings the
// interface up if asked to.
func (i *iface) setup(mtu int, up bool) error {
	var err error
	if i.ctl, err = newIfctl(i.name); err != nil {
		return err
	}
	if mtu != 0 {
		if err := i.ctl.setMTU(mtu); err != nil {
			return err
		}
	}
	if up {
		return i.ctl.up()
	}
	return nil
}

// Name implements Device.
func (i *iface) Name() string { return i.name }

// MTU implements Device.
func (i *iface) MTU() (int, error) { return i.ctl.mtu() }

// SetMTU implements Device.
func (i *iface) SetMTU(mtu int) error { return i.ctl.setMTU(mtu) }

// wrap names the device and the cause: os.ErrClosed once the device is
// closed, whatever the system call said, and the likely reason for EIO.
func (i *iface) wrap(op string, err error) error {
	if i.closed.Load() || errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("tunif: %s %s: %w", op, i.name, os.ErrClosed)
	}
	if errors.Is(err, unix.EIO) {
		return fmt.Errorf("tunif: %s %s: %w (the interface is down)", op, i.name, err)
	}
	return fmt.Errorf("tunif: %s %s: %w", op, i.name, err)
}
