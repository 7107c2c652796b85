// Package errwrap makes sentinel errors that wrap other sentinels
// ("<message>: <wrapped>"), as fmt.Errorf with %w would, but without fmt:
// a package-level fmt.Errorf runs fmt at package initialisation, which
// every palyra process pays before main (docs/PERFORMANCE.md, "Start-up").
package errwrap

// New returns an error whose message is msg, ": " and err's message (as
// fmt.Errorf("msg: %w", err)), and which unwraps to err.
func New(msg string, err error) error { return &wrapped{text: msg + ": " + err.Error(), err: err} }

// Detail returns an error whose message is err's, ": " and detail (as
// fmt.Errorf("%w: detail", err)), and which unwraps to err.
func Detail(err error, detail string) error {
	return &wrapped{text: err.Error() + ": " + detail, err: err}
}

type wrapped struct {
	text string
	err  error
}

func (e *wrapped) Error() string { return e.text }
func (e *wrapped) Unwrap() error { return e.err }
