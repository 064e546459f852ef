"""The rest of the DLT API in one update: streaming tables fed by append flows, views,
temporary tables, ``LIVE.`` names through ``spark.read.table``, grouped expectations and
configuration values."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_support import make_pipeline

PIPELINE = """
import dlt
from pyspark.sql import functions as F

dlt.create_streaming_table("all_readings", comment="Both plants' readings in one table")

def plant_stream(plant):
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaHints", "reading DOUBLE").load(spark.conf.get("test.landing") + "/" + plant)
            .withColumn("plant", F.lit(plant)))

@dlt.append_flow(target="all_readings", name="north_flow")
def north():
    return plant_stream("north")

@dlt.append_flow(target="all_readings")
def south():
    return plant_stream("south")

@dlt.view(comment="Only readings with a device, computed where it is used")
def with_device():
    return spark.readStream.table("LIVE.all_readings").where("device IS NOT NULL")

@dlt.table(temporary=True)
@dlt.expect_all_or_drop({"positive": "reading > 0", "not_huge": "reading < 100"})
@dlt.expect_all({"known_plant": "plant IN ('north', 'south')"})
def checked():
    return dlt.read_stream("with_device")

@dlt.table(name="per_plant", table_properties={"quality": "gold"})
def plant_totals():
    scale = float(spark.conf.get("test.scale"))
    return (spark.read.table("LIVE.checked").groupBy("plant")
            .agg((F.sum("reading") * scale).alias("scaled_total"), F.count("*").alias("n")))
"""


def land(folder: Path, records: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "part-0.json").write_text("".join(json.dumps(record) + "\n" for record in records))


def test_append_flows_views_temporary_tables_and_configuration(spark, tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    land(landing / "north", [{"device": "n1", "reading": 2.0}, {"device": None, "reading": 4.0},
                             {"device": "n2", "reading": 500.0}])  # fmt: skip
    land(landing / "south", [{"device": "s1", "reading": 3.0}, {"device": "s2", "reading": -1.0}])
    pipeline = make_pipeline(spark, tmp_path, PIPELINE, {"test.landing": str(landing), "test.scale": "10"})

    update = pipeline.run()

    assert update.state == "COMPLETED", update.error
    graph = update.graph
    assert graph.datasets["all_readings"].kind == "streaming_table"
    assert sorted(flow.definition.name for flow in graph.datasets["all_readings"].flows) == ["north_flow", "south"]
    assert graph.datasets["with_device"].kind == "view"
    assert graph.datasets["per_plant"].kind == "materialized_view"
    target = pipeline.settings.target
    assert spark.table(f"{target}.all_readings").count() == 5  # both append flows wrote
    totals = {r.plant: (r.scaled_total, r.n) for r in spark.table(f"{target}.per_plant").collect()}
    assert totals == {"north": (20.0, 1), "south": (30.0, 1)}  # null device, 500 and -1 dropped; conf scale 10
    checked = update.flow("checked").metrics
    assert (checked.input_rows, checked.dropped_records) == (4, 2)
    assert {r.name: r.failed_records for r in checked.expectations} == {"positive": 1, "not_huge": 1,
                                                                         "known_plant": 0}  # fmt: skip
    # Views are not stored, temporary tables are not published in the target schema.
    published = {r.tableName for r in spark.sql(f"SHOW TABLES IN {target}").collect()}
    assert {"all_readings", "per_plant"} <= published
    assert not {"with_device", "checked"} & published
    properties = {r.key: r.value for r in spark.sql(f"SHOW TBLPROPERTIES {target}.per_plant").collect()}
    assert properties.get("quality") == "gold"
