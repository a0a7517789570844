package config

import (
	"fmt"
	"os"
	"syscall"
)

// checkOwner refuses a file that someone other than root and the caller
// could change: it says who may dial in and which routes go where, and
// ovpn runs as root, so a user who can write it could admit a peer of
// their own or redirect traffic (as ssh's StrictModes refuses).
func checkOwner(f *os.File) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode()&0o002 != 0 {
		return fmt.Errorf("writable by every user (mode %v), who could then admit peers or move routes; chmod o-w it", fi.Mode().Perm())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); st.Uid != 0 && int(st.Uid) != uid {
		return fmt.Errorf("owned by uid %d, who could change it; chown it to root (or to uid %d, who runs this)", st.Uid, uid)
	}
	return nil
}
