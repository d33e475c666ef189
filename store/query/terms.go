package query

import (
	"fmt"
	"strings"
)

// Terms says where a field's values lie in the index, so they can be read
// back term by term (aggregations, sorting on a field): every term of
// Field that starts with Prefix is one value, lower-cased as indexed.
type Terms struct {
	Field  string // index field
	Prefix string // before each value in a term ("targetusername=" in kv)
	Int    bool   // values are zero-padded integers (IntKey)
	Name   string // the field's canonical name, for display
}

// TermsOf resolves a field name as typed (TargetUserName, Computer,
// EventID, System.ProcessID, …) to its terms. Fields without one term per
// value (time, the numeric sigma.max and ioc.count) are an error.
func TermsOf(name string) (Terms, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Terms{}, fmt.Errorf("no field name")
	}
	spec, _ := resolveField(name)
	switch spec.kind {
	case kindData:
		return Terms{Field: fieldKV, Prefix: spec.index + "=", Name: spec.display}, nil
	case kindKeyword, kindSigmaLevel:
		return Terms{Field: spec.index, Name: spec.display}, nil
	case kindNumeric, kindLevel:
		if IsIntKeyField(spec.index) {
			return Terms{Field: spec.index, Int: true, Name: spec.display}, nil
		}
	}
	return Terms{}, fmt.Errorf("field %s has no values to list or sort on", spec.display)
}
