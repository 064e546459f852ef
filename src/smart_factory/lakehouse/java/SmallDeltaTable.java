package smartfactory.lakehouse;

import java.util.ArrayList;
import java.util.List;

import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.delta.DeltaLog;
import org.apache.spark.sql.delta.DeltaOptions;
import org.apache.spark.sql.delta.OptimisticTransaction;
import org.apache.spark.sql.delta.Snapshot;
import org.apache.spark.sql.delta.VersionChecksum;
import org.apache.spark.sql.delta.actions.Action;
import org.apache.spark.sql.delta.actions.AddFile;
import org.apache.spark.sql.delta.actions.DomainMetadata;
import org.apache.spark.sql.delta.commands.DMLUtils;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;

import scala.Function1;
import scala.Option;
import scala.collection.immutable.Map$;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Reads and replaces a small Delta table through the file list in its newest checksum.
 *
 * <p>Delta writes the list of a table's data files into each commit's checksum file while the
 * table has at most {@code spark.databricks.delta.allFilesInCrc.thresholdNumFiles} (50) of them,
 * but reading the table, or replacing its rows, still rebuilds its state from the log with Spark
 * jobs (0.3 to 0.4 s each time the table has a new version). For the small tables a pipeline
 * update rewrites every time (materialized views), these take the files from the checksum:
 * {@link #read} scans exactly them, as Delta's streaming source scans a commit's files;
 * {@link #replace} writes the new rows with Delta's own append and commits them together with
 * the removal of every listed file, the commit an overwrite makes.
 *
 * <p>Each returns null or false when the checksum does not hold what it needs (no file list,
 * domain metadata such as clustering, a changed schema or partitioning, another version): the
 * caller then goes through Delta's reader or writer.
 */
public final class SmallDeltaTable {

    private SmallDeltaTable() {
    }

    /** The table's rows at {@code version} (-1: the newest), or null when its checksum has no file list. */
    public static Dataset<Row> read(SparkSession spark, String path, long version) {
        DeltaLog deltaLog = DeltaLog.forTable(spark, new Path(path));
        Snapshot snapshot = deltaLog.update(deltaLog.update$default$1(), deltaLog.update$default$2(),
                deltaLog.update$default$3());
        Option<Seq<AddFile>> files = listedFiles(snapshot);
        if (snapshot.version() < 0 || (version >= 0 && snapshot.version() != version) || files.isEmpty()) {
            return null;
        }
        return deltaLog.createDataFrame(snapshot, files.get(), false, Option.empty());
    }

    /**
     * Replaces every row of the table at {@code path} with {@code data}, as
     * {@code mode("overwrite")} does; false, without writing anything, when the table is new,
     * its checksum lists no files or domain metadata, or {@code data} would change its columns
     * or {@code partitionColumns} (null: the table's own) its partitioning.
     */
    public static boolean replace(Dataset<Row> data, String path, List<String> partitionColumns) {
        SparkSession spark = data.sparkSession();
        DeltaLog deltaLog = DeltaLog.forTable(spark, new Path(path));
        Function1<OptimisticTransaction, Boolean> commit = txn -> {
            Snapshot snapshot = txn.snapshot();
            Option<Seq<AddFile>> files = listedFiles(snapshot);
            Seq<String> partitioning = snapshot.metadata().partitionColumns();
            if (snapshot.version() < 0 || files.isEmpty() || hasDomainMetadata(snapshot)
                    || !sameColumns(data.schema(), snapshot.schema())
                    || (partitionColumns != null && !CollectionConverters.asJava(partitioning).equals(partitionColumns))) {
                return false;
            }
            scala.collection.immutable.Map<String, String> noOptions = Map$.MODULE$.empty();
            DeltaOptions options = new DeltaOptions(noOptions, spark.sessionState().conf());
            DMLUtils.TaggedCommitData<Action> written = DeltaWrites.append(deltaLog, options, partitioning, noOptions, data)
                    .writeAndReturnCommitData(txn, spark, Option.empty(), false);
            txn.readWholeTable(); // a concurrent commit to the table conflicts, as with an overwrite
            long now = System.currentTimeMillis();
            List<Action> actions = new ArrayList<>(CollectionConverters.asJava(written.actions()));
            for (AddFile file : CollectionConverters.asJava(files.get())) {
                actions.add(file.removeWithTimestamp(now, true));
            }
            txn.commitIfNeeded(CollectionConverters.asScala(actions).toList(),
                    DeltaWrites.operation(SaveMode.Overwrite, partitioning, options), written.stringTags());
            return true;
        };
        return deltaLog.withNewTransaction(Option.empty(), Option.empty(), commit);
    }

    // The checksum's file list, if it has one that adds up to its own file count and table size
    // (a list that did not would leave rows behind) and no file has a deletion vector.
    private static Option<Seq<AddFile>> listedFiles(Snapshot snapshot) {
        VersionChecksum checksum = DeltaWrites.checksum(snapshot);
        if (checksum == null || checksum.allFiles().isEmpty()) {
            return Option.empty();
        }
        Seq<AddFile> files = checksum.allFiles().get();
        long bytes = 0;
        for (AddFile file : CollectionConverters.asJava(files)) {
            if (file.deletionVector() != null) {
                return Option.empty();
            }
            bytes += file.size();
        }
        boolean consistent = files.size() == checksum.numFiles() && bytes == checksum.tableSizeBytes();
        return consistent ? Option.apply(files) : Option.empty();
    }

    private static boolean hasDomainMetadata(Snapshot snapshot) {
        VersionChecksum checksum = DeltaWrites.checksum(snapshot);
        Option<Seq<DomainMetadata>> domains = checksum == null ? Option.empty() : checksum.domainMetadata();
        return domains.isEmpty() || !domains.get().isEmpty(); // unknown counts as present
    }

    // The same names and types in the same order; Delta stores every column as nullable.
    private static boolean sameColumns(StructType written, StructType table) {
        StructField[] ours = written.fields();
        StructField[] theirs = table.fields();
        if (ours.length != theirs.length) {
            return false;
        }
        for (int i = 0; i < ours.length; i++) {
            if (!ours[i].name().equals(theirs[i].name())
                    || !ours[i].dataType().sameType(theirs[i].dataType())) {
                return false;
            }
        }
        return true;
    }
}
