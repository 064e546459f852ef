package smartfactory.cloudfiles;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A stream's log of the files each micro-batch took, in the layout of Spark's own file source
 * log ({@code sources/0}): a file per batch, {@code v1} then a JSON line per file, and every
 * {@code compactInterval}th batch a {@code <n>.compact} file that repeats all earlier entries. So
 * either source can carry on a checkpoint the other started, and restoring reads one compact
 * file plus a few small ones however long the history. As Spark does, writing a compact file
 * deletes the log files before the previous one once they are older than a cleanup delay.
 */
final class SourceFileLog {
  private static final String VERSION = "v1";
  private static final String COMPACT_SUFFIX = ".compact";
  private static final JsonFactory JSON = new JsonFactory();

  /** One file of one batch: Spark's name for it, its modification time (ms) and the batch. */
  record Entry(String path, long timestamp, long batchId) {}

  private final FileSystem fs;
  private final Path folder;
  private final int defaultCompactInterval;
  private final long cleanupDelayMs;
  private int compactInterval;

  /** A log at {@code folder}; {@code cleanupDelayMs} below zero keeps every log file. */
  SourceFileLog(Path folder, Configuration conf, int defaultCompactInterval, long cleanupDelayMs)
      throws IOException {
    this.fs = folder.getFileSystem(conf);
    this.folder = fs.makeQualified(folder);
    this.defaultCompactInterval = defaultCompactInterval;
    this.cleanupDelayMs = cleanupDelayMs;
    this.compactInterval = defaultCompactInterval;
  }

  /** Every entry so far and the latest batch id (-1 for none): a compact file and what follows. */
  synchronized Restored restore() throws IOException {
    long latest = -1;
    long latestCompact = -1;
    if (fs.exists(folder)) {
      for (FileStatus status : fs.listStatus(folder)) {
        String name = status.getPath().getName();
        long id = batchIdOf(name);
        if (id < 0) {
          continue;
        }
        latest = Math.max(latest, id);
        if (name.endsWith(COMPACT_SUFFIX)) {
          latestCompact = Math.max(latestCompact, id);
        }
      }
    }
    if (latestCompact >= 0) {
      compactInterval = derivedCompactInterval(defaultCompactInterval, (int) latestCompact);
    }
    List<Entry> entries = new ArrayList<>();
    if (latestCompact >= 0) {
      entries.addAll(read(new Path(folder, latestCompact + COMPACT_SUFFIX)));
    }
    for (long id = latestCompact + 1; id <= latest; id++) {
      entries.addAll(read(pathOf(id)));
    }
    return new Restored(entries, latest);
  }

  record Restored(List<Entry> entries, long latestBatchId) {}

  /** The entries of one batch, from its file (or the compact file that holds it). */
  synchronized List<Entry> batch(long batchId) throws IOException {
    List<Entry> entries = new ArrayList<>();
    for (Entry entry : read(pathOf(batchId))) {
      if (entry.batchId() == batchId) {
        entries.add(entry);
      }
    }
    return entries;
  }

  /**
   * Writes batch {@code batchId} (whole or not at all); a compaction batch also repeats {@code
   * earlier}, every entry of the batches before it. Refuses a batch that is already written.
   */
  synchronized void add(long batchId, List<Entry> entries, List<Entry> earlier) throws IOException {
    Path target = pathOf(batchId);
    if (fs.exists(target)) {
      throw new IllegalStateException("Batch " + batchId + " is already in the file log " + folder
          + ": another run of this stream is writing it (two runs must not share a checkpoint).");
    }
    fs.mkdirs(folder);
    Path temporary = new Path(folder, "." + target.getName() + "." + UUID.randomUUID() + ".tmp");
    try (OutputStream out = fs.create(temporary, false)) {
      StringBuilder text = new StringBuilder(VERSION);
      if (isCompactionBatch(batchId)) {
        for (Entry entry : earlier) {
          text.append('\n').append(json(entry));
        }
      }
      for (Entry entry : entries) {
        text.append('\n').append(json(entry));
      }
      out.write(text.toString().getBytes(StandardCharsets.UTF_8));
    }
    if (!fs.rename(temporary, target)) {
      fs.delete(temporary, false);
      throw new IOException("Could not write " + target);
    }
    if (isCompactionBatch(batchId) && cleanupDelayMs >= 0) {
      deleteExpired(batchId + 1 - compactInterval);
    }
  }

  /** Deletes log files of batches before {@code firstKept} written before the cleanup delay. */
  private void deleteExpired(long firstKept) throws IOException {
    long expired = System.currentTimeMillis() - cleanupDelayMs;
    for (FileStatus status : fs.listStatus(folder)) {
      long id = batchIdOf(status.getPath().getName());
      if (id >= 0 && id < firstKept && status.getModificationTime() < expired) {
        fs.delete(status.getPath(), false);
      }
    }
  }

  boolean isCompactionBatch(long batchId) {
    return (batchId + 1) % compactInterval == 0;
  }

  private Path pathOf(long batchId) {
    return new Path(folder, isCompactionBatch(batchId) ? batchId + COMPACT_SUFFIX
        : Long.toString(batchId));
  }

  private List<Entry> read(Path file) throws IOException {
    List<Entry> entries = new ArrayList<>();
    try (FSDataInputStream in = fs.open(file);
        BufferedReader lines =
            new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String version = lines.readLine();
      if (version == null || !version.trim().equals(VERSION)) {
        throw new IOException("Unknown file log version " + version + " in " + file);
      }
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        if (!line.isBlank()) {
          entries.add(parse(line, file));
        }
      }
    }
    return entries;
  }

  private static Entry parse(String line, Path file) throws IOException {
    String path = null;
    long timestamp = 0;
    long batchId = -1;
    try (JsonParser parser = JSON.createParser(line)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("Not a file log entry in " + file + ": " + line);
      }
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String field = parser.currentName();
        parser.nextToken();
        switch (field) {
          case "path" -> path = parser.getText();
          case "timestamp" -> timestamp = parser.getLongValue();
          case "batchId" -> batchId = parser.getLongValue();
          default -> parser.skipChildren();
        }
      }
    }
    if (path == null || batchId < 0) {
      throw new IOException("Incomplete file log entry in " + file + ": " + line);
    }
    return new Entry(path, timestamp, batchId);
  }

  private static String json(Entry entry) throws IOException {
    StringWriter text = new StringWriter();
    try (JsonGenerator generator = JSON.createGenerator(text)) {
      generator.writeStartObject();
      generator.writeStringField("path", entry.path());
      generator.writeNumberField("timestamp", entry.timestamp());
      generator.writeNumberField("batchId", entry.batchId());
      generator.writeEndObject();
    }
    return text.toString();
  }

  /** A log file's batch id ({@code 7}, {@code 9.compact}), or -1 for any other file. */
  private static long batchIdOf(String name) {
    String digits = name.endsWith(COMPACT_SUFFIX)
        ? name.substring(0, name.length() - COMPACT_SUFFIX.length()) : name;
    if (digits.isEmpty() || !digits.chars().allMatch(Character::isDigit)) {
      return -1;
    }
    return Long.parseLong(digits);
  }

  /** The interval an existing log was compacted at (CompactibleFileStreamLog's own rule). */
  static int derivedCompactInterval(int defaultInterval, int latestCompactBatchId) {
    int batches = latestCompactBatchId + 1;
    if (batches <= defaultInterval) {
      return batches;
    }
    if (defaultInterval < batches / 2) {
      for (int divisor = defaultInterval; divisor <= batches / 2; divisor++) {
        if (batches % divisor == 0) {
          return divisor;
        }
      }
    }
    return batches;
  }
}
