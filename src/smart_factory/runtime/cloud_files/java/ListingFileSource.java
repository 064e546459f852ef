package smartfactory.cloudfiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.network.util.JavaUtils;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SQLContext;
import org.apache.spark.sql.classic.SparkSession;
import org.apache.spark.sql.connector.read.streaming.ReadAllAvailable;
import org.apache.spark.sql.connector.read.streaming.ReadLimit;
import org.apache.spark.sql.connector.read.streaming.ReadMaxBytes;
import org.apache.spark.sql.connector.read.streaming.ReadMaxFiles;
import org.apache.spark.sql.connector.read.streaming.SupportsAdmissionControl;
import org.apache.spark.sql.connector.read.streaming.SupportsTriggerAvailableNow;
import org.apache.spark.sql.execution.datasources.DataSource;
import org.apache.spark.sql.execution.datasources.LogicalRelation$;
import org.apache.spark.sql.execution.datasources.binaryfile.BinaryFileFormat;
import org.apache.spark.sql.execution.streaming.Offset;
import org.apache.spark.sql.execution.streaming.Source;
import org.apache.spark.sql.execution.streaming.runtime.FileStreamSourceOffset;
import org.apache.spark.sql.execution.streaming.runtime.FileStreamSourceOffset$;
import org.apache.spark.sql.execution.streaming.runtime.SerializedOffset;
import org.apache.spark.sql.errors.QueryCompilationErrors;
import org.apache.spark.sql.sources.StreamSourceProvider;
import org.apache.spark.sql.types.StructType;
import scala.Option;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A file stream source whose cost follows the new files, not the history: Spark's own file
 * source ({@code binaryFile} rows: path, modification time, length, content) with three costs
 * that grow with every processed file taken out.
 *
 * <ul>
 *   <li>Defining the stream lists nothing (Spark's lists the whole folder to infer partitions).
 *   <li>A local folder is listed with one {@code stat} a file ({@link ListedFiles}) instead of
 *       Hadoop's listing, which builds and parses a URI per file.
 *   <li>The seen files are restored from the log's latest compact file with a streaming JSON
 *       parser into a set of paths.
 * </ul>
 *
 * <p>The semantics are Spark's file source's, and its checkpoint layout too ({@link
 * SourceFileLog}, {@code {"logOffset":n}} offsets), so a checkpoint can move between the two:
 * every file is taken once, in modification-time order, in batches bounded by {@code
 * maxFilesPerTrigger} or {@code maxBytesPerTrigger}; {@code availableNow} takes what was there
 * when the run started. No file is ever forgotten for its age (Spark's {@code maxFileAge}), as
 * Databricks' Auto Loader documents. Being a {@code FileFormat} (binaryFile's) lets a query
 * select the {@code _metadata} column, as on Spark's file source.
 */
public class ListingFileSource extends BinaryFileFormat implements StreamSourceProvider {
  @Override
  public String shortName() {
    return "smartFactoryListedFiles";
  }

  @Override
  public Tuple2<String, StructType> sourceSchema(SQLContext context, Option<StructType> schema,
      String providerName, scala.collection.immutable.Map<String, String> parameters) {
    // As Spark's file source does, a folder that is not there is an error now, not at run time.
    String path = parameters.get("path").getOrElse(() -> "");
    try {
      Path folder = new Path(path);
      Configuration conf = ((SparkSession) context.sparkSession()).sessionState().newHadoopConf();
      if (!folder.getFileSystem(conf).exists(folder)) {
        sneakyThrow(QueryCompilationErrors.dataPathNotExistError(path));
      }
    } catch (IOException | IllegalArgumentException error) {
      throw new IllegalArgumentException("Cannot read the folder " + path + ": " + error, error);
    }
    return new Tuple2<>(shortName(), schema.isDefined() ? schema.get() : BinaryFileFormat.schema());
  }

  /** Throws Spark's own error (an AnalysisException, which Java would have declared). */
  @SuppressWarnings("unchecked")
  private static <E extends Throwable> void sneakyThrow(Throwable error) throws E {
    throw (E) error;
  }

  @Override
  public Source createSource(SQLContext context, String metadataPath, Option<StructType> schema,
      String providerName, scala.collection.immutable.Map<String, String> parameters) {
    try {
      return new Stream((SparkSession) context.sparkSession(), metadataPath,
          schema.isDefined() ? schema.get() : BinaryFileFormat.schema(), parameters);
    } catch (IOException error) {
      throw new UncheckedIOException("Cannot restore the file log at " + metadataPath, error);
    }
  }

  /** One stream over one folder, with its file log at {@code metadataPath}. */
  static final class Stream implements Source, SupportsAdmissionControl,
      SupportsTriggerAvailableNow {
    private final SparkSession session;
    private final StructType schema;
    private final Path folder;
    private final Configuration conf;
    private final boolean recursive;
    private final String nameGlob;
    private final ReadLimit defaultLimit;
    private final scala.collection.immutable.Map<String, String> batchOptions;
    private final SourceFileLog log;
    private final Set<String> seen = new HashSet<>();
    // Every entry logged so far, for the next compact file; and the batches this run wrote
    // that are not committed yet.
    private final List<SourceFileLog.Entry> logged = new ArrayList<>();
    private final Map<Long, List<SourceFileLog.Entry>> written = new HashMap<>();
    private long latestBatchId;
    private List<ListedFiles.Found> availableNow;

    Stream(SparkSession session, String metadataPath, StructType schema,
        scala.collection.immutable.Map<String, String> parameters) throws IOException {
      this.session = session;
      this.schema = schema;
      Map<String, String> options = new HashMap<>();
      CollectionConverters.asJava(parameters).forEach(
          (key, value) -> options.put(key.toLowerCase(Locale.ROOT), value));
      if (!options.containsKey("path")) {
        throw new IllegalArgumentException("A file stream needs a path to read.");
      }
      this.folder = new Path(options.get("path"));
      this.conf = session.sessionState().newHadoopConf();
      this.recursive = Boolean.parseBoolean(options.getOrDefault("recursivefilelookup", "false"));
      this.nameGlob = options.get("pathglobfilter");
      if (options.containsKey("maxbytespertrigger")) {
        this.defaultLimit = ReadLimit.maxBytes(Long.parseLong(options.get("maxbytespertrigger")));
      } else if (options.containsKey("maxfilespertrigger")) {
        this.defaultLimit = ReadLimit.maxFiles(Integer.parseInt(options.get("maxfilespertrigger")));
      } else {
        this.defaultLimit = ReadLimit.allAvailable();
      }
      // The batch reads exactly the logged files: no "path" option, and no glob expansion.
      scala.collection.immutable.Map<String, String> inner = parameters;
      for (String key : CollectionConverters.asJava(parameters).keySet()) {
        if (key.equalsIgnoreCase("path")) {
          inner = inner.removed(key);
        }
      }
      this.batchOptions = inner.updated(DataSource.GLOB_PATHS_KEY(), "false");
      // Spark's own settings for its file source log, with its defaults.
      var sqlConf = session.sessionState().conf();
      int compactInterval = Integer.parseInt(
          sqlConf.getConfString("spark.sql.streaming.fileSource.log.compactInterval", "10"));
      boolean deletion = Boolean.parseBoolean(
          sqlConf.getConfString("spark.sql.streaming.fileSource.log.deletion", "true"));
      long cleanupDelayMs = JavaUtils.timeStringAsMs(
          sqlConf.getConfString("spark.sql.streaming.fileSource.log.cleanupDelay", "10m"));
      this.log = new SourceFileLog(new Path(metadataPath), conf, compactInterval,
          deletion ? cleanupDelayMs : -1);
      SourceFileLog.Restored restored = log.restore();
      for (SourceFileLog.Entry entry : restored.entries()) {
        seen.add(ListedFiles.keyOf(entry.path()));
      }
      logged.addAll(restored.entries());
      this.latestBatchId = restored.latestBatchId();
    }

    @Override
    public StructType schema() {
      return schema;
    }

    @Override
    public ReadLimit getDefaultReadLimit() {
      return defaultLimit;
    }

    @Override
    public synchronized void prepareForTriggerAvailableNow() {
      availableNow = unseen();
    }

    @Override
    public synchronized org.apache.spark.sql.connector.read.streaming.Offset latestOffset(
        org.apache.spark.sql.connector.read.streaming.Offset start, ReadLimit limit) {
      List<ListedFiles.Found> candidates = new ArrayList<>();
      if (availableNow != null) {
        for (ListedFiles.Found file : availableNow) {
          if (!seen.contains(file.key())) {
            candidates.add(file);
          }
        }
      } else {
        candidates = unseen();
      }
      List<ListedFiles.Found> admitted = admit(candidates, limit);
      if (!admitted.isEmpty()) {
        long batchId = latestBatchId + 1;
        List<SourceFileLog.Entry> entries = new ArrayList<>();
        for (ListedFiles.Found file : admitted) {
          entries.add(new SourceFileLog.Entry(file.sparkPath(), file.modified(), batchId));
        }
        try {
          log.add(batchId, entries, logged);
        } catch (IOException error) {
          throw new UncheckedIOException("Cannot log batch " + batchId + " of " + folder, error);
        }
        for (ListedFiles.Found file : admitted) {
          seen.add(file.key());
        }
        logged.addAll(entries);
        written.put(batchId, entries);
        latestBatchId = batchId;
      }
      return new FileStreamSourceOffset(latestBatchId);
    }

    /** The oldest files first (then by path), as many as the limit lets in; at least one. */
    private static List<ListedFiles.Found> admit(List<ListedFiles.Found> files, ReadLimit limit) {
      files.sort(Comparator.comparingLong(ListedFiles.Found::modified)
          .thenComparing(ListedFiles.Found::key));
      if (limit instanceof ReadMaxFiles maxFiles) {
        return new ArrayList<>(files.subList(0, Math.min(files.size(), maxFiles.maxFiles())));
      }
      if (limit instanceof ReadMaxBytes maxBytes) {
        List<ListedFiles.Found> admitted = new ArrayList<>();
        long bytes = 0;
        for (ListedFiles.Found file : files) {
          if (!admitted.isEmpty() && bytes + file.size() > maxBytes.maxBytes()) {
            break;
          }
          admitted.add(file);
          bytes += file.size();
        }
        return admitted;
      }
      if (limit == null || limit instanceof ReadAllAvailable) {
        return files;
      }
      throw new IllegalArgumentException("Unsupported read limit " + limit);
    }

    private List<ListedFiles.Found> unseen() {
      try {
        return ListedFiles.unseen(folder, conf, recursive, nameGlob, seen);
      } catch (IOException error) {
        throw new UncheckedIOException("Cannot list " + folder, error);
      }
    }

    @Override
    public synchronized Dataset<Row> getBatch(Option<Offset> start, Offset end) {
      long first = start.isDefined() ? logOffset(start.get()) + 1 : 0;
      long last = logOffset(end);
      List<String> paths = new ArrayList<>();
      for (long batchId = first; batchId <= last; batchId++) {
        for (SourceFileLog.Entry entry : entries(batchId)) {
          paths.add(new Path(java.net.URI.create(entry.path())).toString());
        }
      }
      DataSource source = new DataSource(session, "binaryFile",
          CollectionConverters.asScala(paths).toSeq(), Option.apply(schema),
          CollectionConverters.asScala(new ArrayList<String>()).toSeq(), Option.empty(),
          batchOptions, Option.empty(), Option.empty());
      var relation = source.resolveRelation(false, source.resolveRelation$default$2(),
          source.resolveRelation$default$3());
      return org.apache.spark.sql.classic.Dataset$.MODULE$.ofRows(session,
          LogicalRelation$.MODULE$.apply(relation, true));
    }

    private List<SourceFileLog.Entry> entries(long batchId) {
      List<SourceFileLog.Entry> entries = written.get(batchId);
      if (entries != null) {
        return entries;
      }
      try {
        return log.batch(batchId);
      } catch (IOException error) {
        throw new UncheckedIOException("Cannot read batch " + batchId + " of " + folder, error);
      }
    }

    private static long logOffset(Offset offset) {
      return FileStreamSourceOffset$.MODULE$.apply(offset).logOffset();
    }

    @Override
    public Option<Offset> getOffset() {
      throw new UnsupportedOperationException(
          "latestOffset(Offset, ReadLimit) should be called instead of this method");
    }

    @Override
    public org.apache.spark.sql.connector.read.streaming.Offset deserializeOffset(String json) {
      return FileStreamSourceOffset$.MODULE$.apply(new SerializedOffset(json));
    }

    @Override
    public synchronized void commit(Offset end) {
      long committed = logOffset(end);
      written.keySet().removeIf(batchId -> batchId <= committed);
    }

    @Override
    public void commit(org.apache.spark.sql.connector.read.streaming.Offset end) {
      if (end instanceof Offset offset) {
        commit(offset);
      }
    }

    @Override
    public void stop() {}

    @Override
    public String toString() {
      return "ListedFiles[" + folder + "]";
    }
  }
}
