package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"o7s.dev/ouroboros/stack/ctrl"
)

// identityKeys are the keywords of bootstrap and enroll that authenticate
// an IPCP to its layer: the layer's CA files (ca, repeatable) and the
// IPCP's own certificate and key.
var identityKeys = []string{"ca", "cert", "key"}

// authTypes are the types whose layers authenticate their members.
var authTypes = []string{"unicast"}

// identity returns the ca, cert and key of a bootstrap or enroll command
// as irmd expects them, or nil if none is given. typ is the IPCP type the
// command names, or "" if irmd is to tell. The paths are made absolute
// here: irmd reads the files, and its working directory is not irm's.
func identity(m argMap, typ string) (*ctrl.IPCPIdentity, error) {
	i := slices.IndexFunc(identityKeys, m.has)
	if i < 0 {
		return nil, nil
	}
	if typ != "" && !slices.Contains(authTypes, typ) {
		return nil, fmt.Errorf("%s is only for unicast IPCPs, not %s: only unicast layers authenticate their members", identityKeys[i], typ)
	}
	switch {
	case m.has("cert") && !m.has("key"):
		return nil, errors.New("missing key FILE: cert needs the private key of the certificate")
	case m.has("key") && !m.has("cert"):
		return nil, errors.New("missing cert FILE: key needs the certificate it belongs to")
	}
	id := &ctrl.IPCPIdentity{}
	for _, f := range m["ca"] {
		p, err := absPath("ca", f)
		if err != nil {
			return nil, err
		}
		if slices.Contains(id.CA, p) {
			return nil, fmt.Errorf("ca %s is given twice", p)
		}
		id.CA = append(id.CA, p)
	}
	if m.has("cert") {
		var err error
		if id.Cert, err = absPath("cert", m.get("cert")); err != nil {
			return nil, err
		}
		if id.Key, err = absPath("key", m.get("key")); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// absPath returns file, the value of key, as a clean absolute path.
func absPath(key, file string) (string, error) {
	if file == "" {
		return "", fmt.Errorf("empty value for %s", key)
	}
	p, err := filepath.Abs(file)
	if err != nil {
		return "", fmt.Errorf("%s %s: %v", key, file, err)
	}
	return p, nil
}
