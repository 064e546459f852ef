package smartfactory.cloudfiles;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.unsafe.types.UTF8String;

/**
 * The cloudFiles source's fast path for one JSON record, in a single pass over its bytes.
 *
 * <p>Returns the record's values in the schema's order when it fits the schema: a JSON object
 * whose every key is one of the fields (spelt exactly, once) and whose every value is null or
 * of the field's type. Returns null for any other record, which then takes the Spark-expression
 * path (parse as a map, safe casts, rescued data); so this class only has to be right about
 * what fits, and to give the values Spark's {@code from_json} would give for such a record.
 *
 * <p>Spark's {@code from_json} and {@code json_object_keys} each build a Jackson parser over an
 * {@code InputStreamReader} per record (an 8 KB buffer each), and the record must be parsed
 * twice to learn both its values and its keys; this reads the UTF-8 bytes once.
 */
public final class RecordParser implements UDF1<byte[], Row> {
  private static final long serialVersionUID = 1L;
  private static final JsonFactory JSON = new JsonFactory();

  private final String[] names;
  private final String[] kinds;
  private transient volatile Map<String, Integer> positions;

  /**
   * @param names the schema's fields
   * @param kinds each field's type: string, boolean, int, long, float or double (other Spark
   *     types are read as their JSON text, "string", and cast by the caller)
   */
  public RecordParser(String[] names, String[] kinds) {
    if (names.length != kinds.length) {
      throw new IllegalArgumentException("one kind per field name");
    }
    this.names = names.clone();
    this.kinds = kinds.clone();
  }

  /** This parser as a Spark function of a record's bytes returning {@code schema} (the fields' types). */
  public UserDefinedFunction asFunction(StructType schema) {
    return functions.udf(this, schema); // Java's overload resolution picks the typed Java UDF API
  }

  @Override
  public Row call(byte[] record) {
    if (record == null) {
      return null;
    }
    Map<String, Integer> fieldPositions = positions();
    Object[] values = new Object[names.length];
    boolean[] seen = new boolean[names.length];
    try (JsonParser parser = JSON.createParser(record)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        return null;
      }
      JsonToken token;
      while ((token = parser.nextToken()) == JsonToken.FIELD_NAME) {
        Integer position = fieldPositions.get(parser.currentName());
        if (position == null || seen[position]) {
          return null; // a field the schema lacks, or a repeated key
        }
        seen[position] = true;
        token = parser.nextToken();
        if (token != JsonToken.VALUE_NULL) {
          Object value = value(parser, token, kinds[position], record);
          if (value == null) {
            return null; // a value of another type
          }
          values[position] = value;
        }
      }
      if (token != JsonToken.END_OBJECT || parser.nextToken() != null) {
        return null; // trailing text after the object
      }
      return RowFactory.create(values);
    } catch (IOException | RuntimeException notPlainJson) {
      return null;
    }
  }

  private Map<String, Integer> positions() {
    Map<String, Integer> built = positions;
    if (built == null) {
      built = new HashMap<>();
      for (int i = 0; i < names.length; i++) {
        built.put(names[i], i);
      }
      positions = built;
    }
    return built;
  }

  /** The value as Spark's JSON parser types it, or null when that parser would not take it as is. */
  private static Object value(JsonParser parser, JsonToken token, String kind, byte[] record) throws IOException {
    switch (kind) {
      case "string":
        return token == JsonToken.VALUE_STRING ? string(parser, record) : text(parser, token);
      case "boolean":
        return token == JsonToken.VALUE_TRUE ? Boolean.TRUE : token == JsonToken.VALUE_FALSE ? Boolean.FALSE : null;
      case "int":
        return token == JsonToken.VALUE_NUMBER_INT && parser.getNumberType() == JsonParser.NumberType.INT
            ? Integer.valueOf(parser.getIntValue())
            : null;
      case "long":
        return token == JsonToken.VALUE_NUMBER_INT && parser.getNumberType() != JsonParser.NumberType.BIG_INTEGER
            ? Long.valueOf(parser.getLongValue())
            : null;
      case "float":
        return isNumber(token) ? Float.valueOf(parser.getFloatValue()) : null;
      case "double":
        return isNumber(token) ? Double.valueOf(parser.getDoubleValue()) : null;
      default:
        return null;
    }
  }

  /**
   * A string value as Spark text. One without escapes is taken as its bytes (the record is valid
   * UTF-8): Jackson would decode it into characters that Spark would then encode back.
   */
  private static UTF8String string(JsonParser parser, byte[] record) throws IOException {
    long quote = parser.currentTokenLocation().getByteOffset();
    if (quote >= 0 && quote < record.length && record[(int) quote] == '"') {
      for (int i = (int) quote + 1; i < record.length; i++) {
        byte b = record[i];
        if (b == '"') {
          return UTF8String.fromBytes(Arrays.copyOfRange(record, (int) quote + 1, i));
        }
        if (b == '\\' || (b >= 0 && b < 0x20)) {
          break; // an escape, or a control character Jackson will refuse
        }
      }
    }
    return UTF8String.fromString(parser.getText());
  }

  /**
   * A scalar as text, written as Spark's from_json writes a non-string value into a string
   * field (through Jackson's number types: 41.20 becomes "41.2"); objects and arrays are left
   * to the Spark path.
   */
  private static String text(JsonParser parser, JsonToken token) throws IOException {
    switch (token) {
      case VALUE_STRING:
        return parser.getText();
      case VALUE_NUMBER_INT:
        switch (parser.getNumberType()) {
          case INT:
            return Integer.toString(parser.getIntValue());
          case LONG:
            return Long.toString(parser.getLongValue());
          default:
            return parser.getBigIntegerValue().toString();
        }
      case VALUE_NUMBER_FLOAT:
        return Double.toString(parser.getDoubleValue());
      case VALUE_TRUE:
        return "true";
      case VALUE_FALSE:
        return "false";
      default:
        return null;
    }
  }

  private static boolean isNumber(JsonToken token) {
    return token == JsonToken.VALUE_NUMBER_INT || token == JsonToken.VALUE_NUMBER_FLOAT;
  }
}
