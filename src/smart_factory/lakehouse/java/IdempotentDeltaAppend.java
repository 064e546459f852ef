package smartfactory.lakehouse;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.delta.DeltaConfigs$;
import org.apache.spark.sql.delta.DeltaLog;
import org.apache.spark.sql.delta.DeltaOptions;
import org.apache.spark.sql.delta.OptimisticTransaction;
import org.apache.spark.sql.delta.VersionChecksum;
import org.apache.spark.sql.delta.actions.Action;
import org.apache.spark.sql.delta.actions.SetTransaction;
import org.apache.spark.sql.delta.commands.DMLUtils;
import org.apache.spark.sql.delta.commands.WriteIntoDelta;

import scala.Function1;
import scala.Option;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A Delta append with {@code txnAppId}/{@code txnVersion} (Delta's idempotent write) that asks the
 * table's checksum, not its whole state, whether the batch is already in.
 *
 * <p>Delta's own check ({@code OptimisticTransaction.txnVersion}) reads {@code Snapshot.transactions},
 * which rebuilds the table's state with Spark jobs over its log (0.2 to 0.4 s) for every new table
 * version, although that version's checksum file lists the same transactions; an append needs
 * nothing else from that state. So this runs {@code WriteIntoDelta} as its {@code run} does (the
 * same files written, the same commit with the same {@code txn} action and operation), answering
 * that one question from the checksum, and by Delta's own check when the checksum does not say.
 *
 * <p>Delta's check also registers the app id with the transaction, so that a concurrent commit of
 * the same id fails this one. Callers hold the stream's exclusive lock (one writer per app id),
 * so that conflict cannot arise; concurrent commits of anything else are resolved by Delta as usual.
 */
public final class IdempotentDeltaAppend {

    private IdempotentDeltaAppend() {
    }

    /**
     * Appends {@code data} to the Delta table at {@code path} as batch {@code version} of
     * {@code appId}, unless the table already holds that batch or a later one of it. Options are
     * {@code DataFrameWriter} options: those starting with {@code delta.} become a new table's
     * properties. Returns whether anything was committed.
     */
    public static boolean append(Dataset<Row> data, String path, Map<String, String> options,
            List<String> partitionColumns, String appId, long version) {
        Map<String, String> all = new LinkedHashMap<>(options);
        all.put(DeltaOptions.TXN_APP_ID(), appId);
        all.put(DeltaOptions.TXN_VERSION(), Long.toString(version));
        all.put("path", path);
        Map<String, String> tableProperties = new LinkedHashMap<>();
        all.forEach((key, value) -> {
            if (key.startsWith("delta.")) {
                tableProperties.put(key, value);
            }
        });
        SparkSession spark = data.sparkSession();
        scala.collection.immutable.Map<String, String> writerOptions = scalaMap(all);
        DeltaOptions deltaOptions = new DeltaOptions(writerOptions, spark.sessionState().conf());
        DeltaLog deltaLog = DeltaLog.forTable(spark, new Path(path), writerOptions);
        Seq<String> partitioning = CollectionConverters.asScala(partitionColumns).toList();
        WriteIntoDelta write = DeltaWrites.append(deltaLog, deltaOptions, partitioning,
                DeltaConfigs$.MODULE$.validateConfigurations(scalaMap(tableProperties)), data);
        Function1<OptimisticTransaction, Boolean> commit = txn -> {
            if (alreadyCommitted(write, txn, spark, deltaOptions, appId, version)) {
                return false;
            }
            DMLUtils.TaggedCommitData<Action> written = write.writeAndReturnCommitData(txn, spark, Option.empty(), false);
            txn.commitIfNeeded(written.actions(), DeltaWrites.operation(SaveMode.Append, partitioning, deltaOptions),
                    written.stringTags());
            return true;
        };
        return deltaLog.withNewTransaction(Option.empty(), Option.empty(), commit);
    }

    private static boolean alreadyCommitted(WriteIntoDelta write, OptimisticTransaction txn, SparkSession spark,
            DeltaOptions options, String appId, long version) {
        // (Not Snapshot.setTransactionsIfKnown: in this Delta it rebuilds the state as well.)
        VersionChecksum checksum = DeltaWrites.checksum(txn.snapshot());
        Option<Seq<SetTransaction>> known = checksum == null ? Option.empty() : checksum.setTransactions();
        if (known.isEmpty()) {
            return write.hasBeenExecuted(txn, spark, Option.apply(options));
        }
        for (SetTransaction transaction : CollectionConverters.asJava(known.get())) {
            if (transaction.appId().equals(appId)) {
                return transaction.version() >= version;
            }
        }
        return false;
    }

    private static scala.collection.immutable.Map<String, String> scalaMap(Map<String, String> map) {
        return scala.collection.immutable.Map$.MODULE$.from(CollectionConverters.asScala(map));
    }
}
