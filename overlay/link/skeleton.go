package link

// Skeleton: the contract's bodies, replaced by the engine's implementation.

import (
	"context"
	"errors"
)

var errTODO = errors.New("link: not implemented yet")

type impl struct{}

func newLink(Config) (*Link, error)                                { return nil, errTODO }
func (impl) run(context.Context) error                             { return errTODO }
func (impl) add(context.Context, Flow, bool, Admit) (*Peer, error) { return nil, errTODO }
func (impl) update([]PeerConfig) error                             { return errTODO }
func (impl) remove(string, string)                                 {}
func (impl) peer(string) *Peer                                     { return nil }
func (impl) status() Status                                        { return Status{} }
func (impl) close() error                                          { return errTODO }

type peerImpl struct{}

func (peerImpl) done() <-chan struct{} { return nil }
func (peerImpl) err() error            { return errTODO }
