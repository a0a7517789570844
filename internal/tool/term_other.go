//go:build !linux

package tool

import "os"

// IsTerminal reports whether f is a character device, which is how a
// terminal shows where termios is not at hand.
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
