package server

import "log/slog"

// levelOf is the access log level of a status: server errors are errors, the rest info.
func levelOf(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}
