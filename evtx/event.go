package evtx

import "time"

// Field is one named value of an event's EventData or UserData, in document
// order. Values are always rendered as strings (see doc.go for the rules).
// Names may repeat: every unnamed <Data> element is a field named "Data".
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Event is one EVTX record flattened: every System element and attribute as
// a typed field under its Windows name, plus the EventData/UserData
// name→value pairs in document order. Numeric System fields that Windows
// always writes (Version, Level, Task, Opcode, ProcessID, ThreadID) are
// shown even when zero; optional ones are strings, "" when absent.
type Event struct {
	RecordID          uint64    `json:"record_id"`                     // System/EventRecordID (the record header's ID when absent)
	EventID           uint32    `json:"event_id"`                      // System/EventID
	Qualifiers        string    `json:"qualifiers,omitempty"`          // System/EventID/@Qualifiers, decimal; "" when absent
	Version           uint8     `json:"version"`                       // System/Version
	Level             uint8     `json:"level"`                         // System/Level
	Task              uint16    `json:"task"`                          // System/Task
	Opcode            uint8     `json:"opcode"`                        // System/Opcode
	Keywords          string    `json:"keywords,omitempty"`            // System/Keywords, hex "0x8020000000000000"
	TimeCreated       time.Time `json:"time"`                          // System/TimeCreated/@SystemTime, UTC, exact to 100 ns
	Channel           string    `json:"channel"`                       // System/Channel
	Provider          string    `json:"provider"`                      // System/Provider/@Name
	ProviderGUID      string    `json:"provider_guid,omitempty"`       // System/Provider/@Guid, "{XXXXXXXX-…}" (upper case from a GUID value, as written from text)
	EventSourceName   string    `json:"event_source_name,omitempty"`   // System/Provider/@EventSourceName
	Computer          string    `json:"computer"`                      // System/Computer
	ProcessID         uint32    `json:"process_id"`                    // System/Execution/@ProcessID
	ThreadID          uint32    `json:"thread_id"`                     // System/Execution/@ThreadID
	UserID            string    `json:"user_id,omitempty"`             // System/Security/@UserID SID
	ActivityID        string    `json:"activity_id,omitempty"`         // System/Correlation/@ActivityID
	RelatedActivityID string    `json:"related_activity_id,omitempty"` // System/Correlation/@RelatedActivityID
	// SystemExtra holds every other System element and attribute, as
	// written, in document order: attributes as "Element.@Attr"
	// ("Execution.@KernelTime", "Execution.@ProcessorID" in ETW-converted
	// logs), element text by the element's name. Nothing of System is
	// dropped.
	SystemExtra []Field `json:"system_extra,omitempty"`
	// Data holds EventData fields (names as in the XML; see doc.go for
	// unnamed <Data>, <Binary> and <ComplexData>) or UserData fields named
	// as the children of the UserData element's single child (deeper levels
	// as dotted paths, "Parent.Child"); UserDataElement names that child.
	Data            []Field `json:"data"`
	UserDataElement string  `json:"user_data_element,omitempty"`
	// ChunkOffset is the byte offset of the 64 KiB chunk holding the record,
	// so a single event can be re-read without parsing the whole file.
	ChunkOffset int64 `json:"chunk_offset"`
	// RecordOffset is the byte offset of the record inside its chunk. With
	// the file and ChunkOffset it identifies the record: EventRecordIDs can
	// repeat within a file (a filtered multi-channel save) and are never
	// used to de-duplicate.
	RecordOffset uint32 `json:"record_offset"`
	// Recovered marks a record found by scanning past a broken record
	// header in its chunk (Options.Recover): a live record of the chunk
	// (numbered inside the range its header declares) that a plain walk of
	// the record headers would not reach.
	Recovered bool `json:"recovered,omitempty"`
	// XML is the record rendered as Event Viewer's XML; only filled by
	// readers asked for it (ReadChunkXML), empty otherwise.
	XML string `json:"xml,omitempty"`
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
