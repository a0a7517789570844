package flow

// CloseSocket closes f's socket to irmd behind its FRCT's back, as a
// crashing process or a torn-down path would: irmd deallocates the flow,
// and no FIN goes to the peer.
func CloseSocket(f *Flow) error { return f.sock.Close() }
