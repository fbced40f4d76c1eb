package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
)

// TestAgentsNetns: three agents, each in a network namespace of its own, so that they
// reach the server from three addresses as three hosts would, run a study with a budget of
// 30 to exactly 30 outcomes, and the server lists each agent with the address it came from.
// It needs root and ip(8) (Linux network namespaces and veth pairs) and skips, saying so,
// where they are not available.
func TestAgentsNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no agent processes")
	}
	hosts, addrs, names := netns(t, 3)
	body := `name: netns
command: ["/bin/sh", "-c", "sleep 0.05; echo loss=$0", "{x}"]
objective: {metric: loss, direction: minimize}
params:
  x: {type: float, low: 0, high: 1}
sampler: {name: random}
budget: {trials: 30}
`
	a := newAgentSetup(t, body, "--addr", hosts[0]+":0")
	if !strings.HasPrefix(a.base, "http://"+hosts[0]+":") {
		t.Fatalf("server at %s, want it on %s", a.base, hosts[0])
	}
	agents, outs := a.startAgents(t, 3, func(i int, argv []string) []string {
		return append([]string{"ip", "netns", "exec", names[i]}, argv...)
	}, "--server", a.base, "--idle-exit", "2s")
	for i, ag := range agents {
		if err := ag.Wait(); err != nil {
			t.Fatalf("agent %d in namespace %s: %v\n%s", i, names[i], err, outs[i].String())
		}
	}
	done := 0
	for i, tr := range a.trials(t) {
		switch {
		case tr.Number != i:
			t.Errorf("trial %d has number %d: numbers must be dense", i, tr.Number)
		case tr.State == retune.TrialComplete:
			done++
		default:
			t.Errorf("trial %d is %v %q", tr.Number, tr.State, tr.Reason)
		}
	}
	if done != 30 {
		t.Errorf("%d complete trials, want exactly 30", done)
	}
	seen, err := a.store.Agents(context.Background(), a.study.Record().Created)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ag := range seen {
		got = append(got, ag.Addr)
	}
	slices.Sort(got)
	want := slices.Clone(addrs)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the server saw agents from %v, want one from each namespace, %v", got, want)
	}
	if out := mustCLI(t, "agents", "--db", a.db); !strings.Contains(out, addrs[1]) {
		t.Errorf("retune agents does not show the address %s:\n%s", addrs[1], out)
	}
}

// netns makes n network namespaces, each joined to this one by a veth pair on a /30 of its
// own in 10.231.0.0/16: in namespace names[i], this machine is hosts[i] and the namespace's
// own address addrs[i], with a default route through hosts[i] (so that every host address
// is reachable). Everything is removed when the test ends. It skips the test when the
// machine cannot make namespaces here.
func netns(t *testing.T, n int) (hosts, addrs, names []string) {
	t.Helper()
	switch {
	case runtime.GOOS != "linux":
		t.Skip("network namespaces: Linux only")
	case os.Geteuid() != 0:
		t.Skip("network namespaces need root (ip netns); run the tests as root to have each agent on an address of its own")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespaces need ip(8) (Debian: iproute2)")
	}
	ip := func(args ...string) error {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	tag := fmt.Sprintf("%d%02d", os.Getpid()%100000, rand.N(100))
	subnet := rand.N(256)
	for i := range n {
		name, link := fmt.Sprintf("retune-%s-%d", tag, i), fmt.Sprintf("rt%s%d", tag, i)
		host, addr := fmt.Sprintf("10.231.%d.%d", subnet, 4*i+1), fmt.Sprintf("10.231.%d.%d", subnet, 4*i+2)
		if err := ip("netns", "add", name); err != nil {
			if i == 0 {
				t.Skipf("network namespaces are not available here: %v", err)
			}
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ip("netns", "del", name) })
		if err := ip("link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", name); err != nil {
			if i == 0 {
				t.Skipf("veth pairs are not available here: %v", err)
			}
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ip("link", "del", link) })
		for _, args := range [][]string{
			{"addr", "add", host + "/30", "dev", link},
			{"link", "set", link, "up"},
			{"-n", name, "addr", "add", addr + "/30", "dev", "eth0"},
			{"-n", name, "link", "set", "eth0", "up"},
			{"-n", name, "link", "set", "lo", "up"},
			{"-n", name, "route", "add", "default", "via", host},
		} {
			if err := ip(args...); err != nil {
				t.Fatal(err)
			}
		}
		hosts, addrs, names = append(hosts, host), append(addrs, addr), append(names, name)
	}
	return hosts, addrs, names
}
