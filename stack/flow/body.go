package flow

import (
	"encoding/json"

	"o7s.dev/ouroboros/stack/ctrl"
)

func decodeBody(m *ctrl.Msg, v any) error { return json.Unmarshal(m.Body, v) }
