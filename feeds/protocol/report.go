package protocol

import "encoding/json"

// DecodeReport decodes a frame a reporter (an agent) sends a hub. What it
// reports is journaled and paged on, so it is read strictly, as a
// command is: a field of the wrong type or a number that does not fit
// (load1 1e999) makes the frame malformed instead of leaving the field
// absent, which would read as a zero.
func DecodeReport(frame []byte) (Message, error) {
	if l, ok := decodeCanonicalLoad(frame); ok {
		return checked(l)
	}
	m, err := Decode(frame)
	if err != nil || strict(m) {
		return m, err
	}
	if err := json.Unmarshal(frame, newMessage(TypeOf(m))); err != nil {
		return nil, malformed("%s: %v", TypeOf(m), err)
	}
	return m, nil
}
