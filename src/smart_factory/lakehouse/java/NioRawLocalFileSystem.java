package smartfactory.lakehouse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;

/**
 * Hadoop's local file system without a process per file operation.
 *
 * <p>Without Hadoop's native library, {@link RawLocalFileSystem} runs {@code chmod} for every
 * file it creates and {@code readlink} for every rename through {@code FileContext} (Spark's
 * checkpoint files, Delta's commits): about 300 processes, a second or more, in a small
 * pipeline update. Here both are one system call through {@code java.nio}. Anything NIO cannot
 * express (sticky or set-id bits, a symbolic link) goes to Hadoop's own code, as before.
 */
public class NioRawLocalFileSystem extends RawLocalFileSystem {
  private static final PosixFilePermission[] BY_BIT = {
    PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
    PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
    PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
  };
  private static final int PERMISSION_BITS = 0777;

  @Override
  public void setPermission(Path path, FsPermission permission) throws IOException {
    int mode = permission.toShort();
    if ((mode & ~PERMISSION_BITS) != 0) {
      super.setPermission(path, permission);
      return;
    }
    try {
      Files.setPosixFilePermissions(pathToFile(path).toPath(), permissions(mode));
    } catch (UnsupportedOperationException notPosix) {
      super.setPermission(path, permission);
    }
  }

  /**
   * The file's status, or the link's own for a symbolic link.
   *
   * <p>Hadoop asks {@code readlink} first in every case; one {@code lstat} says whether there
   * is a link to describe at all.
   */
  @Override
  public FileStatus getFileLinkStatus(Path path) throws IOException {
    if (Files.isSymbolicLink(pathToFile(path).toPath())) {
      return super.getFileLinkStatus(path);
    }
    return getFileStatus(path);
  }

  static Set<PosixFilePermission> permissions(int mode) {
    Set<PosixFilePermission> granted = EnumSet.noneOf(PosixFilePermission.class);
    for (int bit = 0; bit < BY_BIT.length; bit++) {
      if ((mode & (1 << bit)) != 0) {
        granted.add(BY_BIT[bit]);
      }
    }
    return granted;
  }
}
