package flow_test

import "o7s.dev/ouroboros/stack/ctrl"

func ctrlRegister(name string) ctrl.NameRegister {
	return ctrl.NameRegister{Name: name, Layers: []string{"local"}}
}
