package evtx

import "time"

// Field is one named value of an event's EventData or UserData, in document
// order. Values are always rendered as strings (see doc.go for the rules).
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Event is one EVTX record flattened: typed System fields plus the
// EventData/UserData name→value pairs in document order.
type Event struct {
	RecordID    uint64    `json:"record_id"`
	EventID     uint32    `json:"event_id"`
	Version     uint8     `json:"version,omitempty"`
	Level       uint8     `json:"level"`
	Task        uint16    `json:"task,omitempty"`
	Opcode      uint8     `json:"opcode,omitempty"`
	Keywords    string    `json:"keywords,omitempty"` // hex, "0x8020000000000000"
	TimeCreated time.Time `json:"time"`               // UTC
	Channel     string    `json:"channel"`
	Provider    string    `json:"provider"`
	Computer    string    `json:"computer"`
	ProcessID   uint32    `json:"process_id,omitempty"`
	ThreadID    uint32    `json:"thread_id,omitempty"`
	UserID      string    `json:"user_id,omitempty"` // Security/@UserID SID
	// Data holds EventData fields (names as in the XML; unnamed <Data> as
	// Data, Data_1, …) or UserData fields named as the children of the
	// UserData element's single child (deeper levels as dotted paths,
	// "Parent.Child"); UserDataElement names that child.
	Data            []Field `json:"data"`
	UserDataElement string  `json:"user_data_element,omitempty"`
	// ChunkOffset is the byte offset of the 64 KiB chunk holding the record,
	// so a single event can be re-read without parsing the whole file.
	ChunkOffset int64 `json:"chunk_offset"`
}

// Get returns the value of the first data field named name (exact,
// case-sensitive) and whether it exists.
func (e *Event) Get(name string) (string, bool) {
	for i := range e.Data {
		if e.Data[i].Name == name {
			return e.Data[i].Value, true
		}
	}
	return "", false
}
