// Command pause is the sandbox ("pause") container of the node tier's pods: it holds the pod's
// namespaces open, reaps the zombies it inherits as PID 1, and exits 0 on SIGINT or SIGTERM.
// Built statically from this file by scripts/node/images.sh, so no registry image is needed.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		// Reap every exited child; WNOHANG so a live child does not block the loop.
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
