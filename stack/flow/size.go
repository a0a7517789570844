package flow

import "fmt"

func sizeMsg(n, max int) string {
	return fmt.Sprintf("%d bytes, the flow carries at most %d", n, max)
}
