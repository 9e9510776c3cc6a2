package org.gownscan.testbed;

import java.io.Closeable;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.HttpURLConnection;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;

/**
 * Starts one embedded search node for gown's test bed: OpenSearch 2.19.6 or
 * Elasticsearch 7.10.2, whichever is on the classpath, with HTTP on
 * 127.0.0.1 at the port given, data under the folder given, a single-node
 * cluster and no security plugin (the open configuration the HospitalGown
 * research found behind mobile apps). Usage: Node opensearch|elasticsearch
 * PORT DATADIR.
 *
 * <p>The two servers share their embedding API down to the signatures, in
 * packages named after each (org.opensearch, org.elasticsearch), so one
 * launcher drives both by reflection and needs neither to compile. Every
 * HTTP request is traced to stdout by the server's HttpTracer (see
 * log4j2.properties): the Go test bed reads those lines as proof that gown
 * only sent GET requests. The test bed marks its own requests with the header
 * X-Opaque-Id: gown-testbed so the two can be told apart.
 */
public final class Node {
    /** READY is the line the Go test bed waits for on stdout. */
    static final String READY = "GOWN-TESTBED READY";
    static final String OPAQUE_ID = "gown-testbed";

    private Node() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 3 || !(args[0].equals("opensearch") || args[0].equals("elasticsearch"))) {
            System.err.println("usage: Node opensearch|elasticsearch PORT DATADIR");
            System.exit(2);
        }
        String pkg = "org." + args[0];
        int port = Integer.parseInt(args[1]);
        Path home = Path.of(args[2]).toAbsolutePath();
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));

        Class<?> settingsClass = Class.forName(pkg + ".common.settings.Settings");
        Object b = settingsClass.getMethod("builder").invoke(null);
        Method put = b.getClass().getMethod("put", String.class, String.class);
        String[][] settings = {
            {"cluster.name", "gown-testbed"},
            {"node.name", "gown-node-1"},
            {"path.home", home.toString()},
            {"path.data", home.resolve("data").toString()},
            {"path.logs", home.resolve("logs").toString()},
            {"discovery.type", "single-node"},
            {"network.host", "127.0.0.1"},
            {"http.port", Integer.toString(port)},
            // Transport on an ephemeral loopback port: nothing joins this node.
            {"transport.port", "0"},
            // The tracer is off by default; trace every REST path.
            {"http.tracer.include", "*"},
            // A shared CI disk can be fuller than the default watermarks
            // allow, which would leave new indices unassigned.
            {"cluster.routing.allocation.disk.threshold_enabled", "false"},
            {"node.max_local_storage_nodes", "1"},
        };
        for (String[] kv : settings) {
            put.invoke(b, kv[0], kv[1]);
        }
        Object built = b.getClass().getMethod("build").invoke(b);

        Class<?> preparer = Class.forName(pkg + ".node.InternalSettingsPreparer");
        Method prepare = preparer.getMethod("prepareEnvironment", settingsClass, Map.class, Path.class, Supplier.class);
        Supplier<String> nodeName = () -> "gown-node-1";
        Object env = prepare.invoke(null, built, Map.of(), null, nodeName);

        // Node's protected constructor is the only way to load a plugin (the
        // Netty HTTP transport) from the classpath instead of a plugins folder.
        Class<?> nodeClass = Class.forName(pkg + ".node.Node");
        Constructor<?> ctor = nodeClass.getDeclaredConstructor(env.getClass(), Collection.class, boolean.class);
        ctor.setAccessible(true);
        Collection<Class<?>> plugins = List.of(Class.forName(pkg + ".transport.Netty4Plugin"));
        Object node = ctor.newInstance(env, plugins, false);
        nodeClass.getMethod("start").invoke(node);

        // The node resets logger levels from its own settings while it
        // starts, which undoes log4j2.properties for the tracer: set it again.
        Class<?> level = Class.forName("org.apache.logging.log4j.Level");
        Class.forName("org.apache.logging.log4j.core.config.Configurator")
            .getMethod("setLevel", String.class, level)
            .invoke(null, pkg + ".http.HttpTracer", level.getField("TRACE").get(null));

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                ((Closeable) node).close();
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
