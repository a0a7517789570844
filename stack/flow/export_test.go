package flow

// CloseSocket closes f's socket to irmd behind its FRCT's back, as a
// crashing process or a torn-down path would: irmd deallocates the flow,
// and no FIN goes to the peer.
func CloseSocket(f *Flow) error { return f.sock.Close() }

// WriteUnsealed writes p on f's socket as it is, below sealing: to the
// peer it is a packet that does not open, as a forged one would be.
func WriteUnsealed(f *Flow, p []byte) (int, error) { return f.sock.Write(p) }
