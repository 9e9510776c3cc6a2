// Command bedinstall installs, once and before the tests run, every Debian
// package the test bed starts servers from. Tests install what they miss on
// their own too, but go test runs packages in parallel processes, and one
// install up front keeps them from queueing on the dpkg lock.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/gownscan/gown/internal/testbed"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := testbed.EnsureAll(ctx, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bedinstall:", err)
		stop()
		os.Exit(1)
	}
}
