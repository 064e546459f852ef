package smartfactory.cloudfiles;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.catalyst.CatalystTypeConverters$;
import org.apache.spark.sql.catalyst.expressions.Alias;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.BindReferences$;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.GenericInternalRow;
import org.apache.spark.sql.catalyst.expressions.NamedExpression;
import org.apache.spark.sql.catalyst.optimizer.ReplaceExpressions$;
import org.apache.spark.sql.catalyst.plans.logical.Project;
import org.apache.spark.sql.expressions.UserDefinedFunction;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.unsafe.types.UTF8String;
import scala.Function1;
import scala.collection.immutable.Seq;

/**
 * A Spark column of text columns, evaluated interpreted inside a function call.
 *
 * <p>Why: an expression with lambdas (Spark's higher-order functions) has no generated code,
 * so a projection that holds one runs outside whole-stage code generation, and each step in
 * and out of it copies every row, even the rows for which the expression is never evaluated.
 * Behind a function call the same expression keeps the surrounding steps in generated code and
 * costs nothing on the rows a {@code CASE WHEN} sends elsewhere; on the rows it does get, it
 * gives exactly the values Spark would (it is the same expression).
 */
public final class InterpretedColumn implements UDF1<Row, Object> {
  private static final long serialVersionUID = 1L;

  private final Expression expression;
  private final DataType dataType;
  private transient Function1<Object, Object> toScala;

  private InterpretedColumn(Expression expression, DataType dataType) {
    this.expression = expression;
    this.dataType = dataType;
  }

  /**
   * The one column of {@code definition} (a select over a relation of string columns) as a
   * function of a struct of those columns, in their order, returning the column's type.
   */
  public static UserDefinedFunction of(Dataset<Row> definition) {
    // As the optimizer would, swap expressions that only exist to be replaced (to_json's
    // evaluator, for one) for their replacements: they cannot be evaluated themselves.
    Project project = (Project) ReplaceExpressions$.MODULE$.apply(
        definition.queryExecution().analyzed());
    NamedExpression column = project.projectList().head();
    Expression resolved = column instanceof Alias alias ? alias.child() : (Expression) column;
    Expression bound = bound(resolved, project.child().output());
    return functions.udf(new InterpretedColumn(bound, resolved.dataType()), resolved.dataType());
  }

  /** The expression with its columns as input ordinals (Spark's BindReferences). */
  private static Expression bound(Expression expression, Seq<Attribute> input) {
    try {
      // AttributeSeq lives in Scala's package object, a class Java cannot name.
      Class<?> attributeSeq =
          Class.forName("org.apache.spark.sql.catalyst.expressions.package$AttributeSeq");
      Object seq = attributeSeq.getConstructor(Seq.class).newInstance(input);
      return (Expression) BindReferences$.class
          .getMethod("bindReference", Expression.class, attributeSeq, boolean.class)
          .invoke(BindReferences$.MODULE$, expression, seq, false);
    } catch (ReflectiveOperationException error) {
      throw new IllegalStateException("Cannot bind " + expression + " to " + input, error);
    }
  }

  @Override
  public Object call(Row columns) {
    Object[] values = new Object[columns.length()];
    for (int i = 0; i < values.length; i++) {
      values[i] = columns.isNullAt(i) ? null : UTF8String.fromString(columns.getString(i));
    }
    if (toScala == null) {
      toScala = CatalystTypeConverters$.MODULE$.createToScalaConverter(dataType);
    }
    return toScala.apply(expression.eval(new GenericInternalRow(values)));
  }
}
