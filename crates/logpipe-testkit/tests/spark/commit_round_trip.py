"""Spark's own FileOutputCommitter against an HDFS URL: one SparkSession writes a dataset as
JSON lines and as Parquet (v1 commit algorithm: _temporary/ attempt dirs, task-commit renames,
job commit, _SUCCESS), reads both back and compares every row with the rows it generated.

Usage: commit_round_trip.py HDFS_URL BASE_DIR ROWS

Prints one line per check (`ok NAME` / `FAIL NAME: why`), `info ...` lines, and `done N`
at the end, like tests/java/HdfsConformance.java. Run by tests/hdfs_spark_commit.rs.
"""

import sys
import time
import traceback

URL, BASE, ROWS = sys.argv[1], sys.argv[2].rstrip("/"), int(sys.argv[3])
LEVELS = ["INFO", "WARN", "ERROR"]
failures = 0


def expected_row(i):
    # Keep in step with `expected_row` in tests/hdfs_spark_commit.rs.
    return (
        i,
        "host-%d" % (i % 7),
        LEVELS[i % 3],
        'event %d "quoted" \u00e9\u6f22 %s' % (i, "x" * (i % 50)),
    )


def check(name, fn):
    global failures
    started = time.monotonic()
    try:
        fn()
        print("ok %s (%.1f s)" % (name, time.monotonic() - started), flush=True)
    except Exception as e:  # noqa: BLE001 - every failure is reported, then the run goes on
        failures += 1
        why = ("%s: %s" % (type(e).__name__, e)).replace("\n", " | ")
        print("FAIL %s: %s" % (name, why[:2000]), flush=True)
        traceback.print_exc(file=sys.stderr)


def require(condition, what):
    if not condition:
        raise AssertionError(what)


started = time.monotonic()
from pyspark.sql import SparkSession  # noqa: E402
from pyspark.sql.types import (  # noqa: E402
    IntegerType,
    StringType,
    StructField,
    StructType,
)

spark = (
    SparkSession.builder.master("local[2]")
    .appName("logpipe-fake-hdfs-commit")
    .config("spark.ui.enabled", "false")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.driver.memory", "512m")
    .config("spark.sql.shuffle.partitions", "2")
    .config("spark.hadoop.fs.defaultFS", URL)
    # Spark's default commit protocol over Hadoop's FileOutputCommitter, v1 algorithm.
    .config("spark.hadoop.mapreduce.fileoutputcommitter.algorithm.version", "1")
    .config("spark.hadoop.dfs.blocksize", str(1024 * 1024))
    .config("spark.hadoop.dfs.replication", "2")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("WARN")
jvm = spark.sparkContext._jvm
hconf = spark.sparkContext._jsc.hadoopConfiguration()
fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI(URL), hconf)
print("info spark %s up in %.1f s" % (spark.version, time.monotonic() - started), flush=True)

schema = StructType(
    [
        StructField("id", IntegerType(), False),
        StructField("host", StringType(), False),
        StructField("level", StringType(), False),
        StructField("msg", StringType(), False),
    ]
)
rows = [expected_row(i) for i in range(ROWS)]
df = spark.createDataFrame(rows, schema).repartition(2)


def path(name):
    return jvm.org.apache.hadoop.fs.Path(BASE + "/" + name)


def names(name):
    return sorted(s.getPath().getName() for s in fs.listStatus(path(name)))


def committed_layout(name, suffix):
    listed = names(name)
    require("_SUCCESS" in listed, "%s: no _SUCCESS in %s" % (name, listed))
    require("_temporary" not in listed, "%s: _temporary left behind: %s" % (name, listed))
    parts = [n for n in listed if n.startswith("part-")]
    require(len(parts) == 2, "%s: expected 2 part files (2 tasks), got %s" % (name, listed))
    require(
        all(n.endswith(suffix) for n in parts), "%s: part names %s lack %s" % (name, parts, suffix)
    )
    require(
        fs.getFileStatus(path(name + "/_SUCCESS")).getLen() == 0,
        "%s: _SUCCESS is not empty" % name,
    )
    return parts


def same_rows(name, read_back):
    got = [tuple(r) for r in read_back.orderBy("id").collect()]
    require(len(got) == len(rows), "%s: %d rows read, %d written" % (name, len(got), len(rows)))
    for want, have in zip(rows, got):
        require(want == have, "%s: row %r read back as %r" % (name, want, have))


def write_json():
    df.write.mode("errorifexists").json(BASE + "/json")


def json_layout():
    parts = committed_layout("json", ".json")
    blocks = [
        fs.getFileBlockLocations(fs.getFileStatus(path("json/" + p)), 0, 1 << 40) for p in parts
    ]
    counts = [len(b) for b in blocks]
    print("info json part files %s have %s blocks" % (parts, counts), flush=True)
    require(all(c >= 2 for c in counts), "json part files are not multi-block: %s" % counts)


def read_json():
    same_rows("json", spark.read.schema(schema).json(BASE + "/json"))


def write_parquet():
    df.write.mode("errorifexists").parquet(BASE + "/parquet")


def read_parquet():
    committed_layout("parquet", ".parquet")
    same_rows("parquet", spark.read.parquet(BASE + "/parquet"))


def overwrite_parquet():
    # mode("overwrite") deletes the committed dataset first, then commits a new one in its place.
    df.filter("id % 2 = 0").write.mode("overwrite").parquet(BASE + "/parquet")
    committed_layout("parquet", ".parquet")
    got = [r.id for r in spark.read.parquet(BASE + "/parquet").orderBy("id").collect()]
    require(got == list(range(0, ROWS, 2)), "overwrite: ids read back differ (%d rows)" % len(got))


def error_if_exists():
    try:
        df.write.mode("errorifexists").json(BASE + "/json")
    except Exception as e:  # noqa: BLE001 - Spark raises AnalysisException from Py4J
        require("already exists" in str(e), "unexpected error: %s" % e)
    else:
        raise AssertionError("writing onto an existing dataset succeeded")


def gzip_round_trip():
    df.write.option("compression", "gzip").mode("errorifexists").json(BASE + "/json-gz")
    committed_layout("json-gz", ".json.gz")
    same_rows("json-gz", spark.read.schema(schema).json(BASE + "/json-gz"))


check("spark writes JSON through FileOutputCommitter", write_json)
check("JSON dataset is committed: 2 multi-block parts, _SUCCESS, no _temporary", json_layout)
check("spark reads the JSON dataset back row for row", read_json)
check("spark writes Parquet through FileOutputCommitter", write_parquet)
check("spark reads the committed Parquet dataset back row for row", read_parquet)
check("a second write onto an existing dataset is refused", error_if_exists)
check("overwrite replaces a committed Parquet dataset", overwrite_parquet)
check("gzip JSON round trip", gzip_round_trip)

spark.stop()
print("done %d failed in %.1f s" % (failures, time.monotonic() - started), flush=True)
sys.exit(1 if failures else 0)
