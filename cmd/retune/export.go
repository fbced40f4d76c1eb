package main

import (
	"context"
	"os"

	"github.com/a6b40afc/retune/export"
)

func runExport(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("export")
	db := dbFlag(fs)
	format := fs.String("format", "csv", "csv or json")
	out := fs.String("o", "", "write to this file instead of stdout")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *format != "csv" && *format != "json" {
		return usagef("--format %q: want csv or json", *format)
	}
	s, rec, err := m.openStudy(ctx, *db, pos[0])
	if err != nil {
		return err
	}
	defer s.Close()
	ts, err := s.Trials(ctx, rec.ID)
	if err != nil {
		return err
	}
	w := m.Stdout
	var f *os.File
	if *out != "" {
		if f, err = os.Create(*out); err != nil {
			return err
		}
		w = f
	}
	if *format == "json" {
		err = export.JSON(w, rec, ts)
	} else {
		err = export.CSV(w, rec, ts)
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
