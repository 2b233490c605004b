package com.example.spark

import io.trackwire.scala.Trackwire
import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.functions.{avg, col, count}
import scala.util.Using

/**
 * A Spark job that logs its run from the driver: the executors compute, the driver sends what
 * they return to the server named by TRACKWIRE_TRACKING_URI (or MLFLOW_TRACKING_URI).
 * Usage: TrainingJob EXPERIMENT_NAME; prints the run id.
 */
object TrainingJob {
  def main(args: Array[String]): Unit = {
    val spark = SparkSession.builder().appName("trackwire-spark-job").getOrCreate()
    try
      Using.resource(Trackwire.fromEnvironment()) { tw =>
        val experimentId = tw.getOrCreateExperiment(args(0))
        val runId = tw.withRun(experimentId, runName = Some("spark-job")) { run =>
          run.logParams(Map("spark.master" -> spark.sparkContext.master, "buckets" -> "4"))
          val points = spark.range(0, 10000).withColumn("bucket", col("id") % 4)
          val perBucket = points.groupBy("bucket").agg(count("*").as("n"), avg("id").as("mean"))
            .orderBy("bucket").collect()
          perBucket.foreach { row =>
            run.logMetrics(Map("bucket_mean" -> row.getAs[Double]("mean")), step = row.getAs[Long]("bucket"))
          }
          run.logMetrics(Map("rows" -> perBucket.map(_.getAs[Long]("n")).sum.toDouble))
          run.runId
        }
        println(runId)
      }
    finally spark.stop()
  }
}
