// Package unitytest writes IL2CPP global-metadata.dat files for tests.
package unitytest

import "encoding/binary"

// Metadata writes a global-metadata.dat of version 29 holding lits, as
// IL2CPP lays it out: the header, the literal table, the literal data run
// together, then identifier strings (NUL-terminated) as the rest of the
// file holds. No Unity editor runs here: the file is assembled from the
// header layout Il2CppDumper reads.
func Metadata(lits []string) []byte {
	le := binary.LittleEndian
	const hdr = 256 // the real header is about that long; the fields past byte 24 stay zero
	tab := make([]byte, 0, 8*len(lits))
	var data []byte
	for _, s := range lits {
		tab = le.AppendUint32(tab, uint32(len(s)))
		tab = le.AppendUint32(tab, uint32(len(data)))
		data = append(data, s...)
	}
	b := make([]byte, hdr)
	copy(b, "\xaf\x1b\xb1\xfa")
	le.PutUint32(b[4:], 29)
	le.PutUint32(b[8:], hdr)
	le.PutUint32(b[12:], uint32(len(tab)))
	le.PutUint32(b[16:], uint32(hdr+len(tab)))
	le.PutUint32(b[20:], uint32(len(data)))
	b = append(append(b, tab...), data...)
	return append(b, "UnityEngine\x00MonoBehaviour\x00"...)
}
