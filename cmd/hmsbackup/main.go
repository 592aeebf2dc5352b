// Command hmsbackup backs up and restores the hospital management system's
// database. See the README for the commands and the environment.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones work on hosts without /usr/share/zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		os.Exit(exitCode(err))
	}
}

// run is the whole program, callable from tests: args[0] is the program
// name; configuration comes only from getenv and the arguments. An error
// has already been printed to stderr as one line.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := &cli{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, isTerminal: isTerminal}
	err := c.execute(ctx, args[1:])
	if err != nil {
		fmt.Fprintln(stderr, "hmsbackup: "+oneLine(err.Error()))
	}
	return err
}
