// Command etcdclient is a yardstick of docs/PERFORMANCE.md, "Start-up": the
// one-byte program of bench/startup/bare that also links the etcd client
// (go.etcd.io/etcd/client/v3; nothing of it runs but its package
// initialisation), what every process would pay if palyra linked it.
package main

import (
	"os"

	_ "go.etcd.io/etcd/client/v3"
)

func main() { _, _ = os.Stdout.Write([]byte{'\n'}) }
