package com.example.consumer

import io.trackwire.scala.Trackwire
import java.nio.file.Files
import scala.util.Using

/** LogRun's training run, logged with the Scala client. */
object LogRunScala {
  def main(args: Array[String]): Unit =
    Using.resource(Trackwire.fromEnvironment()) { tw =>
      val experimentId = tw.getOrCreateExperiment(args(0))
      val runId = tw.withRun(experimentId, tags = Map("source" -> "jvm-consumer")) { run =>
        run.logParams(Map("optimizer" -> "adam"))
        (0 until 3).foreach(epoch => run.logMetrics(Map("loss" -> 1.0 / (epoch + 1)), step = epoch))
        run.logArtifact(Files.writeString(Files.createTempFile("report", ".txt"), "all good"), "reports")
        run.runId
      }
      println(runId)
    }
}
