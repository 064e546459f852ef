package smartfactory.cloudfiles;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The records of a plain JSON Lines file: its non-empty lines, split on {@code \n} in its UTF-8
 * bytes, as Spark's {@code array_remove(split(text, "\n"), "")} gives them.
 *
 * <p>Spark's {@code split} turns the whole file into a Java string and every line back into
 * UTF-8 (it splits with a regular expression); here each line is copied once, as bytes.
 */
public final class JsonLines {
  private JsonLines() {}

  /** A Spark function of a file's text (as binary) returning its records, {@code ARRAY<STRING>}. */
  public static UserDefinedFunction recordsFunction() {
    UDF1<byte[], UTF8String[]> records = JsonLines::records;
    return functions.udf(records, DataTypes.createArrayType(DataTypes.StringType, false));
  }

  /** A Spark function of a file's text (as binary) returning how many records it holds, {@code INT}. */
  public static UserDefinedFunction countFunction() {
    UDF1<byte[], Integer> count = JsonLines::count;
    return functions.udf(count, DataTypes.IntegerType);
  }

  static UTF8String[] records(byte[] text) {
    if (text == null) {
      return null;
    }
    List<UTF8String> lines = new ArrayList<>();
    int start = 0;
    for (int end = indexOfNewline(text, 0); start <= text.length; end = indexOfNewline(text, start)) {
      if (end > start) {
        lines.add(UTF8String.fromBytes(Arrays.copyOfRange(text, start, end)));
      }
      start = end + 1;
    }
    return lines.toArray(new UTF8String[0]);
  }

  static Integer count(byte[] text) {
    if (text == null) {
      return null;
    }
    int records = 0;
    int start = 0;
    for (int end = indexOfNewline(text, 0); start <= text.length; end = indexOfNewline(text, start)) {
      if (end > start) {
        records++;
      }
      start = end + 1;
    }
    return records;
  }

  /** The position of the next {@code \n} from {@code from}, or the text's length when there is none. */
  private static int indexOfNewline(byte[] text, int from) {
    for (int i = from; i < text.length; i++) {
      if (text[i] == '\n') {
        return i;
      }
    }
    return text.length;
  }
}
