package org.gownscan.testbed;

import com.couchbase.mock.Bucket;
import com.couchbase.mock.BucketConfiguration;
import com.couchbase.mock.CouchbaseMock;
import com.couchbase.mock.httpio.HttpServer;
import com.couchbase.mock.deps.org.apache.http.Header;
import com.couchbase.mock.deps.org.apache.http.HttpRequest;
import com.couchbase.mock.deps.org.apache.http.HttpResponse;
import com.couchbase.mock.deps.org.apache.http.protocol.HttpContext;
import com.couchbase.mock.deps.org.apache.http.protocol.HttpCoreContext;
import com.couchbase.mock.deps.org.apache.http.protocol.HttpProcessor;
import com.couchbase.mock.deps.org.apache.http.protocol.HttpService;
import com.couchbase.mock.memcached.MemcachedServer;
import java.lang.reflect.Field;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * Starts CouchbaseMock 1.5.25 for gown's test bed with its REST port and
 * every bucket's data port (memcached binary protocol) on 127.0.0.1 only.
 * Usage: CouchbaseNode PORT BUCKET... where each BUCKET is NAME:PASSWORD:TYPE
 * as the mock's own --buckets option takes it (an empty PASSWORD: no SASL;
 * TYPE couchbase or memcache).
 *
 * <p>Why not the mock's own main: it binds the REST port on the wildcard
 * address whatever --host says, and the test bed never listens beyond
 * loopback. This launcher does what the mock's private start() does (bind
 * the HTTP server, create the buckets, start the HTTP thread), binding the
 * HTTP server to a channel of its own on 127.0.0.1 first. The mock keeps its
 * HTTP server and port in private fields, reached by reflection.
 *
 * <p>The mock logs no requests, so the launcher adds a request log to its
 * HTTP service (a private field too): one line per answered request on
 * stdout, in the format the test bed gives nginx's access log,
 * {@code 127.0.0.2 "GET /pools HTTP/1.1" 200 "-"}, the last field being the
 * X-Opaque-Id header with which the test bed marks its own requests. The
 * Go test bed reads it as proof of what a scan sent.
 *
 * <p>Each bucket has one node (one data port), no replica and 64 vBuckets:
 * the smallest mock that behaves as a cluster does for one client. After
 * every bucket is up it prints one "GOWN-TESTBED BUCKET name host:port" line
 * per bucket, then "GOWN-TESTBED READY http://127.0.0.1:PORT", which the Go
 * test bed waits for.
 */
public final class CouchbaseNode {
    static final String READY = "GOWN-TESTBED READY";
    static final String HOST = "127.0.0.1";

    private CouchbaseNode() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: CouchbaseNode PORT NAME:PASSWORD:TYPE...");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        List<BucketConfiguration> configs = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            String[] f = args[i].split(":", -1);
            if (f.length != 3) {
                System.err.println("bucket spec " + args[i] + ": want NAME:PASSWORD:TYPE");
                System.exit(2);
            }
            BucketConfiguration c = new BucketConfiguration();
            c.name = f[0];
            c.password = f[1];
            c.type = f[2].startsWith("memcache") ? Bucket.BucketType.MEMCACHED : Bucket.BucketType.COUCHBASE;
            c.hostname = HOST;
            c.numNodes = 1;
            c.numReplicas = 0;
            c.numVBuckets = 64;
            configs.add(c);
        }

        // Constructed with no initial buckets: they are created below, once
        // the HTTP server holds its loopback channel.
        CouchbaseMock mock = new CouchbaseMock(port, new ArrayList<>());
        ServerSocketChannel ch = ServerSocketChannel.open();
        ch.socket().bind(new InetSocketAddress(HOST, port));
        HttpServer http = (HttpServer) field(CouchbaseMock.class, "httpServer").get(mock);
        http.bind(ch);
        field(CouchbaseMock.class, "port").setInt(mock, ch.socket().getLocalPort());
        logRequests((HttpService) field(HttpServer.class, "httpService").get(http));
        for (BucketConfiguration c : configs) {
            mock.createBucket(c);
        }
        http.start();

        for (Bucket b : mock.getBuckets().values()) {
            for (MemcachedServer s : b.getServers()) {
                System.out.println("GOWN-TESTBED BUCKET " + b.getName() + " " + HOST + ":" + s.getPort());
            }
        }
        System.out.println(READY + " http://" + HOST + ":" + ch.socket().getLocalPort());
        System.out.flush();
        // The HTTP thread is not a daemon: the JVM runs until the test bed
        // signals it.
    }

    /** logRequests wraps the service's processor so that each response, once complete, is logged. */
    @SuppressWarnings("deprecation") // setHttpProcessor is httpcore 4.4's only way to swap it
    private static void logRequests(HttpService svc) throws ReflectiveOperationException {
        HttpProcessor orig = (HttpProcessor) field(HttpService.class, "processor").get(svc);
        svc.setHttpProcessor(new HttpProcessor() {
            @Override
            public void process(HttpRequest req, HttpContext ctx) throws com.couchbase.mock.deps.org.apache.http.HttpException, java.io.IOException {
                orig.process(req, ctx);
            }

            @Override
            public void process(HttpResponse resp, HttpContext ctx) throws com.couchbase.mock.deps.org.apache.http.HttpException, java.io.IOException {
                orig.process(resp, ctx);
                HttpRequest req = (HttpRequest) ctx.getAttribute(HttpCoreContext.HTTP_REQUEST);
                Socket sock = (Socket) ctx.getAttribute(HttpServer.CX_SOCKET);
                if (req == null || sock == null) {
                    return;
                }
                String client = ((InetSocketAddress) sock.getRemoteSocketAddress()).getAddress().getHostAddress();
                Header h = req.getFirstHeader("X-Opaque-Id");
                String line = client + " \"" + req.getRequestLine() + "\" " + resp.getStatusLine().getStatusCode()
                        + " \"" + (h == null ? "-" : h.getValue()) + "\"";
                synchronized (System.out) {
                    System.out.println(line);
                    System.out.flush();
                }
            }
        });
    }

    private static Field field(Class<?> c, String name) throws NoSuchFieldException {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f;
    }
}
