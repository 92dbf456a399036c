// Package migrations holds atende's schema migrations, one folder per database dialect, embedded into the
// binary. Both folders carry the same version numbers; a test keeps them in step.
package migrations

import "embed"

// FS holds postgres/*.sql and sqlite/*.sql in golang-migrate's file naming (NNNNNN_name.up.sql / .down.sql).
//
//go:embed postgres/*.sql sqlite/*.sql
var FS embed.FS
