"""The Spark engine of the prepare stage (``prepare.engine: spark``): the same reader, mapping, rules and
quarantine as the single-machine engine, run per source file in Spark's Python workers (``mapper``), with
duplicates, counts, validation (GX's Spark datasource) and the output done by Spark (``prepare``). ``job`` is the
spark-submit entry point (local mode, EMR Serverless, AWS Glue). Import pyspark only from here."""
