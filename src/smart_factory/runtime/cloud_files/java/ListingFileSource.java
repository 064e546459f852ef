package smartfactory.cloudfiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
 *
 * <p>Two of Auto Loader's rules that Spark's file source lacks:
 *
 * <ul>
 *   <li>A file read before whose modification time has changed (appended to, overwritten) is
 *       read again, whole, with {@code allowOverwrites=true} (Databricks'
 *       {@code cloudFiles.allowOverwrites}); otherwise it is left alone, as by default on
 *       Databricks, but named by {@link #changedFiles(String)} so the caller can say so.
 *   <li>A file larger than {@code maxFileBytes} is taken (logged, so it never blocks a later
 *       batch) but not read: each file is read whole into the driver's memory, and one too big
 *       for it killed the JVM on every run. The caller reports it from its size.
 * </ul>
 */
public class ListingFileSource extends BinaryFileFormat implements StreamSourceProvider {
  // The files found changed after they were read, by the latest listing of each stream (by its
  // log folder's path): read by the caller after a run, so a stream that read nothing can say it.
  private static final Map<String, List<ListedFiles.Found>> CHANGED = new ConcurrentHashMap<>();

  /**
   * The files the latest listing of the stream logging to {@code metadataPath} found changed
   * since they were read and did not read again, one line each: Spark's name for it, its size,
   * its modification time and the one it was read with (ms), tab-separated; and forgets them.
   */
  public static String changedFiles(String metadataPath) {
    List<ListedFiles.Found> changed = CHANGED.remove(logKey(metadataPath));
    StringBuilder lines = new StringBuilder();
    for (ListedFiles.Found file : changed == null ? List.<ListedFiles.Found>of() : changed) {
      // (Spark's names are URIs: no tab or line break in them.)
      lines.append(String.join("\t", file.sparkPath(), Long.toString(file.size()),
          Long.toString(file.modified()), Long.toString(file.seenModified()))).append('\n');
    }
    return lines.toString();
  }

  private static String logKey(String metadataPath) {
    return new Path(metadataPath).toUri().getPath();
  }

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
    private final String logKey;
    private final boolean allowOverwrites;
    private final long maxFileBytes;
    // Each file read so far (its key), with the modification time it was read with.
    private final Map<String, Long> seen = new HashMap<>();
    // The sizes of the files this run admitted (a replayed batch's files are asked again).
    private final Map<String, Long> sizes = new HashMap<>();
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
      this.allowOverwrites = Boolean.parseBoolean(options.getOrDefault("allowoverwrites", "false"));
      this.maxFileBytes = Long.parseLong(options.getOrDefault("maxfilebytes", "" + Long.MAX_VALUE));
      this.logKey = logKey(metadataPath);
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
        seen.put(ListedFiles.keyOf(entry.path()), entry.timestamp()); // a later entry wins
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
      for (ListedFiles.Found file : availableNow != null ? availableNow : unseen()) {
        if (!Long.valueOf(file.modified()).equals(seen.get(file.key()))) {
          candidates.add(file);
        }
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
          seen.put(file.key(), file.modified());
          sizes.put(file.sparkPath(), file.size());
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

    /** New files, and changed ones when they are to be read again; the other changed ones are noted. */
    private List<ListedFiles.Found> unseen() {
      List<ListedFiles.Found> listed;
      try {
        listed = ListedFiles.unseen(folder, conf, recursive, nameGlob, seen);
      } catch (IOException error) {
        throw new UncheckedIOException("Cannot list " + folder, error);
      }
      List<ListedFiles.Found> toRead = new ArrayList<>();
      List<ListedFiles.Found> changed = new ArrayList<>();
      for (ListedFiles.Found file : listed) {
        (file.isNew() || allowOverwrites ? toRead : changed).add(file);
      }
      CHANGED.put(logKey, changed);
      return toRead;
    }

    /** Whether a logged file is read: not when it is larger than the driver may hold. */
    private boolean fitsInMemory(String sparkPath) {
      if (maxFileBytes == Long.MAX_VALUE) {
        return true;
      }
      Long size = sizes.get(sparkPath);
      if (size == null) {
        try {
          Path path = new Path(java.net.URI.create(sparkPath));
          size = path.getFileSystem(conf).getFileStatus(path).getLen();
        } catch (IOException gone) {
          return true; // let the read report it, as Spark's file source would
        }
      }
      return size <= maxFileBytes;
    }

    @Override
    public synchronized Dataset<Row> getBatch(Option<Offset> start, Offset end) {
      long first = start.isDefined() ? logOffset(start.get()) + 1 : 0;
      long last = logOffset(end);
      List<String> paths = new ArrayList<>();
      for (long batchId = first; batchId <= last; batchId++) {
        for (SourceFileLog.Entry entry : entries(batchId)) {
          if (fitsInMemory(entry.path())) {
            paths.add(new Path(java.net.URI.create(entry.path())).toString());
          }
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
