package smartfactory.cloudfiles;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.GlobPattern;
import org.apache.hadoop.fs.Path;

/**
 * The files under a landing folder that a stream has not seen yet, or has seen with another
 * modification time, found the way Spark's file source finds them (every level, names starting
 * with {@code _} or {@code .} skipped, an optional glob on file names), but at the cost of one
 * {@code stat} a file on a local disk.
 *
 * <p>A file is known by its decoded path ({@code /landing/a b.json}), the key a stream's log
 * entries ({@code file:/landing/a%20b.json}) are reduced to with {@link #keyOf(String)}.
 */
final class ListedFiles {
  /**
   * One file found: its key, modification time (ms), size and Spark's name for it; {@code
   * seenModified} is the modification time it was read with, or null for a file never read.
   */
  record Found(String key, long modified, long size, String sparkPath, Long seenModified) {
    boolean isNew() {
      return seenModified == null;
    }
  }

  private ListedFiles() {}

  static String keyOf(String sparkPath) {
    return URI.create(sparkPath).getPath();
  }

  /**
   * Every file under {@code root} (recursively when asked) whose key is not in {@code seen}, or
   * is there with another modification time (a file appended to or overwritten after it was read).
   */
  static List<Found> unseen(
      Path root, Configuration conf, boolean recursive, String nameGlob, Map<String, Long> seen)
      throws IOException {
    GlobPattern glob = nameGlob == null ? null : new GlobPattern(nameGlob);
    List<Found> found = new ArrayList<>();
    FileSystem fs = root.getFileSystem(conf);
    Path qualified = fs.makeQualified(root);
    if ("file".equals(qualified.toUri().getScheme())) {
      walkLocal(Paths.get(qualified.toUri().getPath()), recursive, glob, seen, found);
    } else {
      walkHadoop(fs, qualified, recursive, glob, seen, found);
    }
    return found;
  }

  private static void walkLocal(
      java.nio.file.Path folder, boolean recursive, GlobPattern glob, Map<String, Long> seen,
      List<Found> found) throws IOException {
    try (DirectoryStream<java.nio.file.Path> entries = Files.newDirectoryStream(folder)) {
      for (java.nio.file.Path entry : entries) {
        String name = entry.getFileName().toString();
        if (isHidden(name)) {
          continue;
        }
        BasicFileAttributes attributes;
        try {
          attributes = Files.readAttributes(entry, BasicFileAttributes.class);
        } catch (java.nio.file.NoSuchFileException gone) {
          continue; // removed since the folder was read: it is simply not there
        }
        if (attributes.isDirectory()) {
          if (recursive) {
            walkLocal(entry, true, glob, seen, found);
          }
          continue;
        }
        String key = entry.toString();
        long modified = attributes.lastModifiedTime().toMillis();
        Long seenModified = seen.get(key);
        if ((glob == null || glob.matches(name)) && !Long.valueOf(modified).equals(seenModified)) {
          found.add(new Found(key, modified, attributes.size(), sparkPathOfLocal(key), seenModified));
        }
      }
    }
  }

  private static void walkHadoop(
      FileSystem fs, Path folder, boolean recursive, GlobPattern glob, Map<String, Long> seen,
      List<Found> found) throws IOException {
    for (FileStatus status : fs.listStatus(folder)) {
      String name = status.getPath().getName();
      if (isHidden(name)) {
        continue;
      }
      if (status.isDirectory()) {
        if (recursive) {
          walkHadoop(fs, status.getPath(), true, glob, seen, found);
        }
        continue;
      }
      URI uri = status.getPath().toUri();
      Long seenModified = seen.get(uri.getPath());
      if ((glob == null || glob.matches(name))
          && !Long.valueOf(status.getModificationTime()).equals(seenModified)) {
        found.add(new Found(uri.getPath(), status.getModificationTime(), status.getLen(),
            uri.toString(), seenModified));
      }
    }
  }

  /** Spark's name for a local file, as Hadoop's listing gives it ({@code file:///a%20b}). */
  static String sparkPathOfLocal(String absolutePath) {
    try {
      return new Path(new URI("file", "", absolutePath, null, null)).toUri().toString();
    } catch (URISyntaxException error) {
      throw new IllegalArgumentException("Cannot name the file " + absolutePath, error);
    }
  }

  /** The names Spark's file listing leaves out (HadoopFSUtils.shouldFilterOutPathName). */
  static boolean isHidden(String name) {
    boolean excluded = (name.startsWith("_") && !name.contains("="))
        || name.startsWith(".") || name.endsWith("._COPYING_");
    boolean kept = name.startsWith("_common_metadata") || name.startsWith("_metadata");
    return excluded && !kept;
  }
}
