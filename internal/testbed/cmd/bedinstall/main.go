// Command bedinstall installs, once and before the tests run, everything the
// test bed starts servers from: the Debian packages (Redis, MariaDB,
// PostgreSQL, memcached, mosquitto, etcd-server, nginx, Node.js and npm,
// Java and Maven, and
// nats-server for the queue's tests), the npm
// packages (pouchdb-server, firebase-server) in the user's cache folder, the
// FerretDB binary built from the module source the tools module in
// internal/testbed/ferretdb pins, the Java search-node launcher with the
// OpenSearch and Elasticsearch 7 classpaths from Maven Central, and the
// CouchbaseMock launcher with CouchbaseMock from Maven Central. It needs root
// for apt-get, reads no standard input, and says what it installs. Tests
// install what they miss on their own too, but go test runs packages in
// parallel processes, and one install up front keeps them from queueing on
// the dpkg lock and the build locks.
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
