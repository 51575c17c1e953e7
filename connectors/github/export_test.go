package github

// SetMaxBody lowers the answer cap for a test, which must not run in
// parallel with others, and returns what puts it back.
func SetMaxBody(n int64) (restore func()) {
	old := maxBody
	maxBody = n
	return func() { maxBody = old }
}
