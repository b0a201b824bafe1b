// Package jsontext appends JSON text by hand where encoding/json's
// reflection costs more than the value: byte for byte what encoding/json
// writes.
package jsontext

import "encoding/json"

// AppendString appends s as a JSON string, as encoding/json writes it.
// Printable ASCII other than '"', '\\', '<', '>' and '&' is written as it
// is; any other string is left to encoding/json, so that every escape is
// its own.
func AppendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
