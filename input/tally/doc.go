// Package tally is what every text-format reader under input/ shares: the
// per-file accounting (records read and skipped, problems by line), the
// record locator that makes a text record's document ID, and the
// timestamp rules. It is a leaf beside evtx: it imports only evtx's types.
package tally
