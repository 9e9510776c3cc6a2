package org.gownscan.testbed;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;

import java.util.Collection;
import java.util.Map;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.core.config.Configurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * Starts one embedded OpenSearch node for gown's tests: HTTP on 127.0.0.1 at
 * the port given, data under the folder given, a single-node cluster with no
 * security plugin (the open configuration the HospitalGown research found
 * behind mobile apps). Usage: Node PORT DATADIR.
 *
 * Every HTTP request is traced to stdout by org.opensearch.http.HttpTracer
 * (see log4j2.properties): the Go test reads those lines as proof that gown
 * only sent GET requests. The test bed marks its own requests with the header
 * X-Opaque-Id: gown-testbed so the two can be told apart.
 */
public final class Node {
    /** READY is the line the Go helper waits for on stdout. */
    static final String READY = "GOWN-TESTBED READY";
    static final String OPAQUE_ID = "gown-testbed";

    private Node() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: Node PORT DATADIR");
            System.exit(2);
        }
        int port = Integer.parseInt(args[0]);
        Path home = Path.of(args[1]).toAbsolutePath();
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));

        Settings settings = Settings.builder()
            .put("cluster.name", "gown-testbed")
            .put("node.name", "gown-node-1")
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", port)
            // Transport on an ephemeral loopback port: nothing joins this node.
            .put("transport.port", "0")
            // Tracer off by default; enable it for every REST path.
            .putList("http.tracer.include", "*")
            // A shared CI disk can be fuller than the default watermarks allow,
            // which would leave new indices unassigned.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("node.max_local_storage_nodes", 1)
            .build();

        Embedded node = new Embedded(settings, List.of(Netty4Plugin.class));
        node.start();
        // The node resets logger levels from its own settings while it
        // starts, which undoes log4j2.properties for the tracer: set it again.
        Configurator.setLevel("org.opensearch.http.HttpTracer", Level.TRACE);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
            } catch (IOException e) {
                System.err.println("close: " + e);
            }
            stopped.countDown();
        }));
        waitForHttp(port);
        System.out.println(READY + " http://127.0.0.1:" + port);
        System.out.flush();
        stopped.await();
    }

    /**
     * Embedded opens Node's protected constructor, the only way to load a
     * plugin (Netty) from the classpath instead of a plugins folder.
     */
    static final class Embedded extends org.opensearch.node.Node {
        Embedded(Settings settings, Collection<Class<? extends Plugin>> plugins) {
            super(InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> "gown-node-1"), plugins, false);
        }
    }

    /** waitForHttp returns once GET / answers 200 on the bound port. */
    private static void waitForHttp(int port) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            try {
                HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/").openConnection();
                c.setRequestProperty("X-Opaque-Id", OPAQUE_ID);
                c.setConnectTimeout(1000);
                c.setReadTimeout(5000);
                int code = c.getResponseCode();
                c.getInputStream().close();
                if (code == 200) {
                    return;
                }
            } catch (IOException e) {
                // not up yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("HTTP did not answer on port " + port);
    }
}
