"""What the Spark sides of the benchmarks share: a local[2] session set up
alike, the seed's server-logs schema, and the JVM's peak RSS."""
from pyspark.sql import SparkSession
from pyspark.sql.types import DoubleType, StringType, StructField, StructType

SERVER_LOGS_SCHEMA = StructType(
    [
        StructField("timestamp", DoubleType()),
        StructField("level", StringType()),
        StructField("message", StringType()),
        StructField("host", StringType()),
        StructField("service", StringType()),
    ]
)


def session(app_name):
    """A quiet local[2] session (2 shuffle partitions, no UI) and its JVM's pid."""
    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark, spark.sparkContext._gateway.proc.pid


def peak_rss_mib(pid):
    """Peak resident memory of process `pid` so far (VmHWM), in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0
