package smartfactory.lakehouse;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFs;
import org.apache.hadoop.fs.DelegateToFileSystem;
import org.apache.hadoop.fs.FsConstants;
import org.apache.hadoop.fs.FsServerDefaults;
import org.apache.hadoop.fs.Path;

/**
 * The {@code FileContext} side of {@link NioLocalFileSystem} ({@code fs.AbstractFileSystem.file.impl}):
 * Hadoop's {@code LocalFs}, checksummed, over {@link NioRawLocalFileSystem}.
 */
public class NioLocalFs extends ChecksumFs {
  public NioLocalFs(URI uri, Configuration conf) throws IOException, URISyntaxException {
    super(new Raw(uri, conf));
  }

  /** Hadoop's {@code RawLocalFs}, whose constructors are not public, over the NIO file system. */
  static final class Raw extends DelegateToFileSystem {
    Raw(URI uri, Configuration conf) throws IOException, URISyntaxException {
      super(uri, new NioRawLocalFileSystem(), conf, FsConstants.LOCAL_FS_URI.getScheme(), false);
    }

    @Override
    public int getUriDefaultPort() {
      return -1; // a local path has no port
    }

    @Override
    @SuppressWarnings("deprecation")
    public FsServerDefaults getServerDefaults() throws IOException {
      return fsImpl.getServerDefaults(new Path("/"));
    }

    @Override
    public FsServerDefaults getServerDefaults(Path path) throws IOException {
      return fsImpl.getServerDefaults(path);
    }

    @Override
    public boolean isValidName(String src) {
      return true; // any local path is valid, as in Hadoop's RawLocalFs
    }
  }
}
