package pool

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// fileVersion is the version of the lease file's format.
const fileVersion = 1

// fileData is the lease file: JSON, for an operator to read.
type fileData struct {
	Version int         `json:"version"`
	Leases  []fileLease `json:"leases"`
}

type fileLease struct {
	Name    string       `json:"name"`
	Addrs   []netip.Addr `json:"addrs"`
	Expires time.Time    `json:"expires"`
}

// load reads the lease file, if it exists, into p. It runs from Open only.
func (p *Pool) load() error {
	b, err := os.ReadFile(p.cfg.File)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lease file: %w", err)
	}
	if err := p.decode(b); err != nil {
		return fmt.Errorf("lease file %s: %w; repair it, or remove it and clients get new addresses", p.cfg.File, err)
	}
	return nil
}

// decode fills p from the file's contents, or fails without a partial fill
// mattering (Open then discards p).
func (p *Pool) decode(b []byte) error {
	var d fileData
	if err := json.Unmarshal(b, &d); err != nil {
		return err
	}
	if d.Version != fileVersion {
		return fmt.Errorf("version %d, this ovpn reads %d", d.Version, fileVersion)
	}
	for _, fl := range d.Leases {
		if fl.Name == "" {
			return errors.New("a lease without a name")
		}
		if _, dup := p.leases[fl.Name]; dup {
			return fmt.Errorf("two leases for %q", fl.Name)
		}
		if fl.Expires.IsZero() {
			return fmt.Errorf("the lease of %q has no expiry", fl.Name)
		}
		l := &lease{expires: fl.Expires.UTC()}
		for _, a := range fl.Addrs {
			if !p.contains(a) || slices.Contains(p.cfg.Reserved, a) {
				continue // the pool changed since: the address is no longer ours
			}
			if prev, taken := p.owner[a]; taken {
				return fmt.Errorf("%v leased to both %q and %q", a, prev, fl.Name)
			}
			if l.addr[family(a)].IsValid() {
				return fmt.Errorf("lease of %q holds two addresses of one family", fl.Name)
			}
			l.addr[family(a)] = a
			p.owner[a] = fl.Name
		}
		if l.addr[0].IsValid() || l.addr[1].IsValid() {
			p.leases[fl.Name] = l
		}
	}
	return nil
}

// contains reports whether a is an address the pool may hand out.
func (p *Pool) contains(a netip.Addr) bool {
	for _, r := range p.ranges {
		if r.prefix.Contains(a) {
			off := offset(r.prefix, a)
			return off >= 1 && off <= r.n-2
		}
	}
	return false
}

// offset is a's offset in pf, which contains it, modulo 2^64.
func offset(pf netip.Prefix, a netip.Addr) uint64 {
	x, y := a.As16(), pf.Addr().As16()
	var d uint64
	for i := 8; i < 16; i++ {
		d = d<<8 | uint64(x[i]-y[i])
	}
	return d
}

// save writes the leases to the file, if there is one: to a temporary file
// in the same directory, synced, then renamed over the old one. It runs
// with p.mu held.
func (p *Pool) save() error {
	if p.cfg.File == "" {
		return nil
	}
	d := fileData{Version: fileVersion, Leases: []fileLease{}}
	for _, l := range p.leasesLocked() {
		fl := fileLease{Name: l.Name, Expires: l.Expires.UTC()}
		for _, a := range l.Addrs {
			fl.Addrs = append(fl.Addrs, a.Addr())
		}
		d.Leases = append(d.Leases, fl)
	}
	b, err := json.MarshalIndent(d, "", "\t")
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotSaved, p.cfg.File, err)
	}
	if err := writeAtomic(p.cfg.File, append(b, '\n')); err != nil {
		return fmt.Errorf("%w: %v", ErrNotSaved, err)
	}
	return nil
}

// writeAtomic replaces name by b so that a crash leaves the old contents or
// the new ones, never a mix.
func writeAtomic(name string, b []byte) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	// Sync the directory so that the rename itself survives a crash.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
