package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"o7s.dev/ouroboros/stack/config"
	"o7s.dev/ouroboros/stack/crypt/cert"
	"o7s.dev/ouroboros/stack/irm"
)

// verify checks what a configuration needs from this host, beyond the file
// itself (config.Load checks that): the certificate and key files load and
// pair and are for the right names, the bound programs are executable
// files, the Ethernet interfaces exist, and the UDP addresses are this
// host's. irmd calls it both with --check and before it starts, so that a
// file that passes --check starts. Each problem is a *config.Error, one
// per line, as config.Load reports them.
func verify(cfg *config.Config) error {
	var errs []error
	bad := func(table, key string, err error) {
		errs = append(errs, &config.Error{File: cfg.File, Table: table, Key: key, Msg: err.Error()})
	}
	if _, _, err := hostIdentity(cfg); err != nil {
		bad("[irmd]", "", err)
	}
	if _, err := mgmtGroup(cfg); err != nil {
		bad("[irmd]", "group", err)
	}
	for _, ip := range cfg.IPCPs {
		table := header(ip.Type, ip.Name)
		if id := ipcpIdentity(ip); id != nil {
			if err := irm.CheckIdentity(ip.Name, id); err != nil {
				bad(table, "", err)
			}
		}
		if dev := ip.Options["dev"]; dev != "" {
			if err := checkInterface(dev); err != nil {
				bad(table, "dev", err)
			}
		}
		if a := ip.Options["ip"]; a != "" {
			if err := checkLocalAddr(a); err != nil {
				bad(table, "ip", err)
			}
		}
	}
	for _, n := range cfg.Names {
		table := header("name", n.Name)
		if _, err := namePolicy(n); err != nil {
			bad(table, "", err)
		}
		if n.User != "" {
			if _, err := irm.UserID(n.User); err != nil {
				bad(table, "user", err)
			}
		}
		if n.Group != "" {
			if _, err := irm.GroupID(n.Group); err != nil {
				bad(table, "group", err)
			}
		}
		for i, prog := range n.Progs {
			if err := irm.CheckProgram(prog); err != nil {
				key := "prog"
				if len(n.Progs) > 1 {
					key = fmt.Sprintf("prog[%d]", i)
				}
				bad(table, key, err)
			}
		}
	}
	return errors.Join(errs...)
}

// hostIdentity loads the CAs irmd trusts and the host's own certificate
// ([irmd] ca, cert and key); nil for what the file does not set.
func hostIdentity(cfg *config.Config) (*x509.CertPool, *cert.Pair, error) {
	var roots *x509.CertPool
	if len(cfg.CA) > 0 {
		var err error
		if roots, err = cert.Pool(cfg.CA...); err != nil {
			return nil, nil, fmt.Errorf("ca: %w", err)
		}
	}
	var host *cert.Pair
	if cfg.Cert != "" {
		var err error
		if host, err = cert.Load(cfg.Cert, cfg.Key); err != nil {
			return nil, nil, fmt.Errorf("cert: %w", err)
		}
	}
	return roots, host, nil
}

// checkInterface reports whether dev is an Ethernet interface of this host
// (in irmd's network namespace), as an eth IPCP bootstrapped on it needs.
func checkInterface(dev string) error {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return fmt.Errorf("no network interface %q on this host (see 'ip link')", dev)
	}
	if len(ifi.HardwareAddr) != 6 {
		return fmt.Errorf("%s is not an Ethernet interface", dev)
	}
	return nil
}

// checkLocalAddr reports whether a UDP IPCP can bind to a: the wildcard
// address, or an address of one of this host's interfaces.
func checkLocalAddr(a string) error {
	want, err := netip.ParseAddr(a)
	if err != nil {
		return err // config.Load has said so
	}
	if want.IsUnspecified() {
		return nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return fmt.Errorf("listing this host's addresses: %v", err)
	}
	for _, ad := range addrs {
		if p, err := netip.ParsePrefix(ad.String()); err == nil && p.Addr().Unmap() == want.Unmap() {
			return nil
		}
	}
	return fmt.Errorf("%s is not an address of this host (see 'ip addr'): the IPCP could not bind to it", a)
}

// header writes the table [group.name] as it stands in the file.
func header(group, name string) string {
	if name == "" || strings.Trim(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		name = strconv.Quote(name)
	}
	return "[" + group + "." + name + "]"
}
