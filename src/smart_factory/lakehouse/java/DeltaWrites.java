package smartfactory.lakehouse;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.delta.DeltaLog;
import org.apache.spark.sql.delta.DeltaOperations;
import org.apache.spark.sql.delta.DeltaOptions;
import org.apache.spark.sql.delta.Snapshot;
import org.apache.spark.sql.delta.VersionChecksum;
import org.apache.spark.sql.delta.commands.WriteIntoDelta;

import scala.Option;
import scala.collection.immutable.Map;
import scala.collection.immutable.Seq;

/** The pieces of Delta's {@code WriteIntoDelta.run} that the helpers commit with, and a snapshot's checksum. */
final class DeltaWrites {

    private DeltaWrites() {
    }

    /** Delta's append command for a path table (no catalog entry), as {@code DataFrameWriter} builds it. */
    static WriteIntoDelta append(DeltaLog deltaLog, DeltaOptions options, Seq<String> partitioning,
            Map<String, String> tableProperties, Dataset<Row> data) {
        return new WriteIntoDelta(deltaLog, SaveMode.Append, options, partitioning, tableProperties, data,
                Option.empty(), Option.empty(), false);
    }

    /** The operation {@code WriteIntoDelta.run} records for a write in {@code mode} (no replaceWhere). */
    static DeltaOperations.Write operation(SaveMode mode, Seq<String> partitioning, DeltaOptions options) {
        return new DeltaOperations.Write(mode, Option.apply(partitioning), options.replaceWhere(),
                options.userMetadata(), Option.<Object>apply(false), Option.<Object>apply(options.canOverwriteSchema()),
                Option.<Object>apply(options.canMergeSchema()), Option.empty(), Option.empty());
    }

    /** The checksum of the snapshot's version, or null when Delta has none for it. */
    static VersionChecksum checksum(Snapshot snapshot) {
        Option<VersionChecksum> checksum = snapshot.checksumOpt();
        return checksum.isEmpty() ? null : checksum.get();
    }
}
