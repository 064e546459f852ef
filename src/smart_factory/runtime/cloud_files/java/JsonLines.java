package smartfactory.cloudfiles;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.unsafe.Platform;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * Plain JSON Lines files, read from their bytes: whether a file is one, its records and how many.
 *
 * <p>A plain JSON Lines file is valid UTF-8 (after an optional byte-order mark) with no carriage
 * return, no line that starts with a space or tab, and no leading whitespace or {@code [}; its
 * records are its non-empty lines. Every other file (another encoding, invalid bytes, Windows
 * line endings, a JSON array...) is left to the Spark expressions, which give the same records
 * for a plain file, only slower: Spark's whole-string functions scan a file byte by byte
 * through a generic accessor, and its {@code split} goes through a Java string.
 */
public final class JsonLines {
  private static final int[] BYTE_ORDER_MARK = {0xEF, 0xBB, 0xBF};
  // Eight bytes at a time: files are large and their lines long, so most words hold only
  // ASCII and no line break, which one test on the whole word can tell (in either byte order).
  private static final long HIGH_BITS = 0x8080808080808080L;
  private static final long LOW_BITS = 0x0101010101010101L;
  private static final long NEWLINES = LOW_BITS * '\n';
  private static final long CARRIAGE_RETURNS = LOW_BITS * '\r';
  private static final JsonFactory JSON = new JsonFactory();

  private JsonLines() {}

  /** A Spark function of a file's bytes: whether it is plain JSON Lines, {@code BOOLEAN}. */
  public static UserDefinedFunction plainFunction() {
    UDF1<byte[], Boolean> plain = JsonLines::isPlain;
    return functions.udf(plain, DataTypes.BooleanType);
  }

  /** A Spark function of a plain JSON Lines file's bytes: its records, {@code ARRAY<STRING>}. */
  public static UserDefinedFunction recordsFunction() {
    UDF1<byte[], UTF8String[]> records = JsonLines::records;
    return functions.udf(records, DataTypes.createArrayType(DataTypes.StringType, false));
  }

  /** A Spark function of a plain JSON Lines file's bytes: how many records it holds, {@code INT}. */
  public static UserDefinedFunction countFunction() {
    UDF1<byte[], Integer> count = JsonLines::count;
    return functions.udf(count, DataTypes.IntegerType);
  }

  /**
   * A Spark function of a file's bytes: how many records hold each top-level key, {@code
   * MAP<STRING, BIGINT>}; null unless the file is plain JSON Lines whose every record is one JSON
   * object. Values are skipped, not decoded: this is schema inference when columns are text.
   */
  public static UserDefinedFunction keyCountsFunction() {
    UDF1<byte[], Map<String, Long>> keyCounts = JsonLines::keyCounts;
    return functions.udf(
        keyCounts, DataTypes.createMapType(DataTypes.StringType, DataTypes.LongType, false));
  }

  static Map<String, Long> keyCounts(byte[] content) {
    if (content == null || !isPlain(content)) {
      return null;
    }
    Map<String, Long> counts = new HashMap<>();
    Set<String> keysOfRecord = new HashSet<>();
    int start = textStart(content);
    // One parser over the whole file (one per record costs more than the parse): each record
    // must then be one object that starts on a line of its own and ends on it.
    try (JsonParser parser = JSON.createParser(content, start, content.length - start)) {
      int previousLine = 0;
      JsonToken token;
      while ((token = parser.nextToken()) != null) {
        int line = parser.currentTokenLocation().getLineNr();
        if (token != JsonToken.START_OBJECT || line == previousLine) {
          return null;
        }
        while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
          keysOfRecord.add(parser.currentName());
          parser.nextToken();
          parser.skipChildren();
        }
        if (token != JsonToken.END_OBJECT || parser.currentTokenLocation().getLineNr() != line) {
          return null;
        }
        previousLine = line;
        for (String key : keysOfRecord) {
          counts.merge(key, 1L, Long::sum);
        }
        keysOfRecord.clear();
      }
    } catch (IOException | RuntimeException notOneObjectPerLine) {
      return null;
    }
    return counts;
  }

  static Boolean isPlain(byte[] content) {
    if (content == null) {
      return null;
    }
    int start = textStart(content);
    if (start < content.length && isLeadingWhitespaceOrArray(content[start])) {
      return false;
    }
    int i = start;
    while (i < content.length) {
      if (i + Long.BYTES <= content.length) {
        long word = word(content, i);
        if ((word & HIGH_BITS) == 0 && !hasByte(word, NEWLINES) && !hasByte(word, CARRIAGE_RETURNS)) {
          i += Long.BYTES;
          continue;
        }
      }
      int b = content[i] & 0xFF;
      if (b < 0x80) {
        if (b == '\r' || (b == '\n' && i + 1 < content.length && (content[i + 1] == ' ' || content[i + 1] == '\t'))) {
          return false;
        }
        i++;
      } else {
        int length = validSequenceLength(content, i);
        if (length == 0) {
          return false;
        }
        i += length;
      }
    }
    return true;
  }

  static UTF8String[] records(byte[] content) {
    if (content == null) {
      return null;
    }
    List<UTF8String> lines = new ArrayList<>();
    for (int start = textStart(content); start <= content.length; ) {
      int end = indexOfNewline(content, start);
      if (end > start) {
        lines.add(UTF8String.fromBytes(Arrays.copyOfRange(content, start, end)));
      }
      start = end + 1;
    }
    return lines.toArray(new UTF8String[0]);
  }

  static Integer count(byte[] content) {
    if (content == null) {
      return null;
    }
    int records = 0;
    for (int start = textStart(content); start <= content.length; ) {
      int end = indexOfNewline(content, start);
      if (end > start) {
        records++;
      }
      start = end + 1;
    }
    return records;
  }

  private static boolean isLeadingWhitespaceOrArray(byte b) {
    return b == ' ' || b == '\t' || b == '\r' || b == '\n' || b == '[';
  }

  /** Where the text starts: after a UTF-8 byte-order mark, when there is one. */
  private static int textStart(byte[] content) {
    if (content.length < BYTE_ORDER_MARK.length) {
      return 0;
    }
    for (int i = 0; i < BYTE_ORDER_MARK.length; i++) {
      if ((content[i] & 0xFF) != BYTE_ORDER_MARK[i]) {
        return 0;
      }
    }
    return BYTE_ORDER_MARK.length;
  }

  /** The position of the next {@code \n} from {@code from}, or the length when there is none. */
  private static int indexOfNewline(byte[] content, int from) {
    int i = from;
    while (i + Long.BYTES <= content.length && !hasByte(word(content, i), NEWLINES)) {
      i += Long.BYTES;
    }
    for (; i < content.length; i++) {
      if (content[i] == '\n') {
        return i;
      }
    }
    return content.length;
  }

  private static long word(byte[] content, int i) {
    return Platform.getLong(content, Platform.BYTE_ARRAY_OFFSET + i);
  }

  /** Whether any byte of {@code word} equals the byte {@code repeated} repeats (a classic bit trick). */
  private static boolean hasByte(long word, long repeated) {
    long matches = word ^ repeated; // a zero byte where they are equal
    return ((matches - LOW_BITS) & ~matches & HIGH_BITS) != 0;
  }

  /**
   * The length of the well-formed UTF-8 sequence of several bytes at {@code i}, or 0 when it is
   * not one (Unicode's table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF).
   */
  private static int validSequenceLength(byte[] content, int i) {
    int first = content[i] & 0xFF;
    int length;
    int low = 0x80;
    int high = 0xBF;
    if (first >= 0xC2 && first <= 0xDF) {
      length = 2;
    } else if (first >= 0xE0 && first <= 0xEF) {
      length = 3;
      low = first == 0xE0 ? 0xA0 : 0x80;
      high = first == 0xED ? 0x9F : 0xBF;
    } else if (first >= 0xF0 && first <= 0xF4) {
      length = 4;
      low = first == 0xF0 ? 0x90 : 0x80;
      high = first == 0xF4 ? 0x8F : 0xBF;
    } else {
      return 0;
    }
    if (i + length > content.length) {
      return 0;
    }
    int second = content[i + 1] & 0xFF;
    if (second < low || second > high) {
      return 0;
    }
    for (int k = 2; k < length; k++) {
      int next = content[i + k] & 0xFF;
      if (next < 0x80 || next > 0xBF) {
        return 0;
      }
    }
    return length;
  }
}
