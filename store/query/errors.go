package query

import "fmt"

// ParseError is a problem in a query string, with the position where it
// was found, for showing under the search box.
type ParseError struct {
	// Pos is the 1-based column, counted in characters (runes), of the
	// offending text; 0 when the error concerns the query as a whole.
	Pos int
	// Msg says what is wrong, without the position.
	Msg string
}

// Error implements error: the message, then "at column N" when Pos is set.
func (e *ParseError) Error() string {
	if e.Pos <= 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s at column %d", e.Msg, e.Pos)
}

// errAt makes a ParseError at rune index i (0-based).
func errAt(i int, format string, args ...any) *ParseError {
	return &ParseError{Pos: i + 1, Msg: fmt.Sprintf(format, args...)}
}
