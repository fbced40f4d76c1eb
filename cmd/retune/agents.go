package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/a6b40afc/retune"
)

// runAgents lists the agents servers have seen (they report every 15 s).
func runAgents(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("agents")
	db := dbFlag(fs)
	within := fs.Duration("within", 24*time.Hour, "only agents seen within this long")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	s, err := m.openExisting(ctx, m.dsn(*db, ""))
	if err != nil {
		return err
	}
	defer s.Close()
	as, ok := s.(retune.AgentStore)
	if !ok {
		return fmt.Errorf("%w: this storage keeps no agents", retune.ErrInvalid)
	}
	list, err := as.Agents(ctx, time.Now().Add(-*within))
	if err != nil {
		return err
	}
	if *asJSON {
		if list == nil {
			list = []retune.AgentInfo{}
		}
		return writeJSON(m.Stdout, list)
	}
	tw := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AGENT\tHOST\tADDRESS\tSTUDY\tSLOTS\tRUNNING\tLAST CONTACT")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s ago\n", a.ID, a.Host, a.Addr, a.Study, a.Slots, a.Running, time.Since(a.Last).Round(time.Second))
	}
	return tw.Flush()
}
