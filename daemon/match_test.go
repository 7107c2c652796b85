package daemon_test

import "regexp"

// matches reports whether s matches the anchored regular expression re.
func matches(re, s string) bool { return regexp.MustCompile("^" + re + "$").MatchString(s) }
