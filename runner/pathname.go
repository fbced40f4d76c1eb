package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
)

// maxPathName bounds the length of an encoded name, well below the 255 bytes a file
// name may have on common filesystems.
const maxPathName = 128

// PathName returns a study name as a single, safe path element. Names of ASCII letters,
// digits, '-', '_' and '.' that do not start with '.' are kept as they are, so ordinary
// names keep their folders; any other name ("..", "a/b", "my study", "ünïcode") has each
// byte outside that set, and a leading '.', written as %XX. A name whose encoding is longer
// than 128 bytes is cut, with '~' and a hash of the whole name appended. Distinct names
// get distinct elements, and the result never contains a separator or names "." or "..".
func PathName(name string) string {
	if pathSafe(name) {
		return name
	}
	var b strings.Builder
	const hexdig = "0123456789ABCDEF"
	for i := 0; i < len(name); i++ {
		c := name[i]
		if plainByte(c) && (i > 0 || c != '.') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexdig[c>>4])
		b.WriteByte(hexdig[c&15])
	}
	s := b.String()
	if len(s) > maxPathName {
		sum := sha256.Sum256([]byte(name))
		cut := s[:maxPathName-33]
		// Do not end inside a %XX escape.
		if i := strings.LastIndexByte(cut, '%'); i >= len(cut)-2 {
			cut = cut[:i]
		}
		s = cut + "~" + hex.EncodeToString(sum[:16])
	}
	return s
}

// pathSafe reports whether name can be a path element as it is (see PathName).
func pathSafe(name string) bool {
	if name == "" || name[0] == '.' || len(name) > maxPathName {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !plainByte(name[i]) {
			return false
		}
	}
	return true
}

func plainByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// StudyLogDir returns the folder of study's trial logs inside logDir.
func StudyLogDir(logDir, study string) string {
	return filepath.Join(logDir, PathName(study))
}
