package main

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestQuickstartScript runs scripts/quickstart.sh, the README's command for
// the main job (build, then set, get, list and delete a secret in a
// throwaway vault), so that a change of output it checks (list --json
// became Palyra's object) cannot break the README's promise unseen.
func TestQuickstartScript(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a bash script for Unix-like hosts")
	}
	if testing.Short() {
		t.Skip("builds palyra and palyra-extra (-short)")
	}
	out, err := exec.Command("bash", "../../scripts/quickstart.sh").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "quickstart: ok") {
		t.Fatalf("scripts/quickstart.sh: %v\n%s", err, out)
	}
}
