// A throwaway Neo4j 5.26 community server for development and tests: the embedded
// DatabaseManagementService with the Bolt connector on loopback, auth on, HTTP off.
// Started (and stopped) by scripts/neo4j.sh; jars come from scripts/neo4j/pom.xml.
//
//   java -cp <classes>:<neo4j jars> DevNeo4j <home-dir> <port> <password> <ready-file>
//
// <home-dir> must be empty or absent (data and logs are created there). Once the neo4j
// user's password is set and the marker user stagegraph_throwaway exists (what tests look
// for before they wipe a database), "ready" is written to <ready-file>; SIGTERM shuts down
// cleanly.

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.BoltConnectorInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.logging.Level;
import org.neo4j.logging.log4j.Log4jLogProvider;

public final class DevNeo4j {
    /** Marks a server started by scripts/neo4j.sh (keep in step with tests/conftest.py). */
    static final String MARKER_USER = "stagegraph_throwaway";

    public static void main(String[] args) {
        if (args.length != 4) {
            System.err.println("usage: DevNeo4j <home-dir> <port> <password> <ready-file>");
            System.exit(2);
        }
        try {
            run(args);
        } catch (Throwable t) {
            // Neo4j's non-daemon threads would keep a half-started JVM alive; exit instead
            // (the shutdown hook, once registered, still shuts the database down).
            t.printStackTrace();
            System.exit(1);
        }
    }

    private static void run(String[] args) throws Exception {
        Path home = Path.of(args[0]).toAbsolutePath();
        int port = Integer.parseInt(args[1]);
        String password = args[2];
        Path readyFile = Path.of(args[3]).toAbsolutePath();
        Files.deleteIfExists(readyFile);
        long t0 = System.nanoTime();

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setUserLogProvider(new Log4jLogProvider(System.out, Level.INFO))
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress("127.0.0.1", port))
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                .setConfig(HttpConnector.enabled, false)
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                // -Dstagegraph.pagecacheMb=N sizes the page cache (bench runs at a million entities)
                .setConfig(GraphDatabaseSettings.pagecache_memory, Long.getLong("stagegraph.pagecacheMb", 128L) * 1024 * 1024)
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.preallocate_store_files, false)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                // Bolt's default graceful shutdown idles for 2 x 5 s; nothing to drain here.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(BoltConnectorInternalSettings.connection_shutdown_wait_time, Duration.ofSeconds(1))
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("DevNeo4j: shutting down");
            try {
                dbms.shutdown();
            } finally {
                stopped.countDown();
            }
            System.out.println("DevNeo4j: stopped");
        }, "dev-neo4j-shutdown"));

        // Community edition keeps its users in the system database; the initial neo4j/neo4j
        // user would otherwise have to change its password on first login.
        dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                "ALTER USER neo4j SET PASSWORD $password CHANGE NOT REQUIRED",
                Map.of("password", password));
        // The mark of a throwaway server: tests wipe only a database whose server carries it
        // (tests/conftest.py). A user, not a node, so that wiping the data keeps it; its
        // password is random and never written anywhere.
        dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME).executeTransactionally(
                "CREATE USER " + MARKER_USER + " IF NOT EXISTS SET PASSWORD $password CHANGE NOT REQUIRED",
                Map.of("password", java.util.UUID.randomUUID().toString()));

        Files.writeString(readyFile, "ready\n");
        System.out.printf("DevNeo4j: ready on bolt://127.0.0.1:%d (%.1fs)%n",
                port, Duration.ofNanos(System.nanoTime() - t0).toMillis() / 1000.0);
        System.out.flush();
        stopped.await();
    }
}
