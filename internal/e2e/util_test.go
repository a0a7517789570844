package e2e

import (
	"strconv"

	"o7s.dev/ouroboros/internal/hostlab"
)

func itoa(i int) string { return strconv.Itoa(i) }

func hostlabStillRunning() error { return hostlab.ErrStillRunning }
