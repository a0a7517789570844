package main

import (
	"strings"
	"testing"
)

func TestCapEff(t *testing.T) {
	const status = "Name:\tovpn\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000001000\n"
	eff, err := capEff(strings.NewReader(status))
	if err != nil || eff&(1<<capNetAdmin) == 0 {
		t.Fatalf("capEff = %x, %v; want CAP_NET_ADMIN set", eff, err)
	}
	eff, err = capEff(strings.NewReader("CapEff:\t0000000000000400\n"))
	if err != nil || eff&(1<<capNetAdmin) != 0 {
		t.Fatalf("capEff = %x, %v; want CAP_NET_ADMIN clear", eff, err)
	}
	if _, err := capEff(strings.NewReader("CapEff:\tzz\n")); err == nil {
		t.Fatal("a bad CapEff line was accepted")
	}
	if _, err := capEff(strings.NewReader("Name:\tx\n")); err == nil {
		t.Fatal("a status without CapEff was accepted")
	}
}
