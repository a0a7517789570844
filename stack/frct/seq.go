package frct

// Sequence numbers are 32 bits and wrap; comparisons are modular (serial
// number arithmetic): a is before b when b-a, as a signed number, is positive.

func seqLT(a, b uint32) bool  { return int32(a-b) < 0 }
func seqLEQ(a, b uint32) bool { return int32(a-b) <= 0 }
