// Command bedup starts the test bed (every configuration, or those named)
// and keeps it running until it is interrupted. It writes one line per
// server to standard output, "NAME KIND ADDR", and then the gown scan
// arguments that scan the whole bed as `gown demo` does, so that two builds
// of gown can be run against the same servers and their output compared.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/gownscan/gown/internal/testbed"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bed, err := testbed.Start(ctx, os.Stderr, os.Args[1:]...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bedup:", err)
		os.Exit(1)
	}
	defer bed.Stop()
	var args []string
	for _, s := range bed.Servers {
		fmt.Printf("%s %s %s\n", s.Name, s.Kind, s.Addr)
		if s.Kind == "firebase" {
			args = append(args, "--resolve", testbed.FirebaseHost+"="+s.Addr.Addr().String())
		}
	}
	for _, s := range bed.Servers {
		args = append(args, s.Kind+"://"+s.Addr.String())
	}
	sort.Strings(args[:0])
	fmt.Printf("ARGS --source %s %s\n", testbed.Source, strings.Join(args, " "))
	<-ctx.Done()
}
